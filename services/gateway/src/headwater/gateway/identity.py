"""Who is calling: the principal the gateway verifies and passes on to services.

Every route receives a `Principal` through the `principal` dependency, and every upstream call forwards it in
the `x-headwater-principal` header; services enforce object-level scoping on it. Until users, sessions and
tokens exist (the identity issue), every caller is the anonymous principal with full access, exactly like the
reference Watcher, which has no authentication at all.
"""

from __future__ import annotations

import msgspec
from litestar import Request


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    roles: tuple[str, ...] = ()
    data_sources: tuple[str, ...] | None = None  # None: not limited to particular data sources

    def header(self) -> str:
        return msgspec.json.encode(self).decode()


ANONYMOUS = Principal(subject="anonymous", roles=("superuser",))


async def resolve_principal(request: Request) -> Principal:  # type: ignore[type-arg]
    """The caller's principal; the identity issue replaces this resolver with real authentication."""
    return ANONYMOUS

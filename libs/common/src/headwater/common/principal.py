"""Who is calling: the principal the gateway verified, passed to every service in one request header.

The gateway authenticates (session cookie, JWT access token or API token) and authorises by role; it then
forwards the verified principal as JSON in `x-headwater-principal`. Services trust that header because only
the gateway can reach them (NetworkPolicy in Kubernetes, loopback in `make up`) and use it for object-level
scoping: a `limited_to_source` principal sees only the data sources listed in `data_sources`.

A request without the header comes from inside the system (an operator's tool, a test of the service's own
API) and acts as `SYSTEM`.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

HEADER: Final = "x-headwater-principal"

Role = Literal["superuser", "editor", "limited_to_source", "read_only", "billing"]
ROLES: Final[tuple[Role, ...]] = ("superuser", "editor", "limited_to_source", "read_only", "billing")


class Principal(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    subject: str  # the user's id, or "system"
    username: str = ""
    role: Role = "read_only"
    data_sources: tuple[int, ...] | None = None  # the granted data sources of a `limited_to_source` principal
    project: str | None = None  # the OLake project the request is scoped to, when its path names one
    via: Literal["session", "access_token", "api_token", "internal"] = "internal"

    def header(self) -> str:
        return msgspec.json.encode(self).decode()

    @property
    def limited_to_sources(self) -> bool:
        return self.role == "limited_to_source"

    @property
    def visible_data_sources(self) -> tuple[int, ...] | None:
        """The data sources whose rows the principal may reach (rows of no data source: none of them); None
        when it is not limited and reaches every row."""
        return (self.data_sources or ()) if self.limited_to_sources else None


SYSTEM: Final = Principal(subject="system", username="system", role="superuser")


class InvalidPrincipal(ValueError):
    """The header is present but not a principal."""


_decoder = msgspec.json.Decoder(Principal)


def from_header(value: str | None) -> Principal:
    """The principal of a request's `x-headwater-principal` header; `SYSTEM` when there is none."""
    if not value:
        return SYSTEM
    try:
        return _decoder.decode(value)
    except msgspec.ValidationError as exc:
        raise InvalidPrincipal(f"invalid {HEADER} header: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise InvalidPrincipal(f"invalid {HEADER} header: not JSON") from exc

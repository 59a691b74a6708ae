"""What each role may do.

A route needs one permission: `read` (GET/HEAD by default), `write` (every other method by default),
`manage_users` (user administration), `self` (anything about the caller's own identity: who am I, log out,
my API tokens) or `public` (health, login, sign-up and token: no credentials at all). A route overrides the
default through its handler's `opt={"permission": ...}`.

`read_only` and `billing` read; `editor` and `limited_to_source` also write (the owning services confine a
`limited_to_source` principal to its data sources); only `superuser` manages users and sees every project.
"""

from __future__ import annotations

from typing import Final, Literal

from headwater.common.principal import Role

Permission = Literal["public", "self", "read", "write", "manage_users"]
PERMISSIONS: Final[frozenset[str]] = frozenset({"public", "self", "read", "write", "manage_users"})

_GRANTS: Final[dict[Role, frozenset[Permission]]] = {
    "superuser": frozenset({"self", "read", "write", "manage_users"}),
    "editor": frozenset({"self", "read", "write"}),
    "limited_to_source": frozenset({"self", "read", "write"}),
    "read_only": frozenset({"self", "read"}),
    "billing": frozenset({"self", "read"}),
}

READ_METHODS: Final = frozenset({"GET", "HEAD"})


def default_permission(method: str) -> Permission:
    return "read" if method in READ_METHODS else "write"


def allows(role: Role, permission: Permission) -> bool:
    return permission == "public" or permission in _GRANTS[role]


def sees_every_project(role: Role) -> bool:
    return role == "superuser"

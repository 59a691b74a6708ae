"""The bootstrap superuser (and its bootstrap API token, when configured), made on first run."""

from __future__ import annotations

from headwater.common.errors import Conflict
from headwater.gateway.identity.authentication import principal_of
from headwater.gateway.identity.credentials import generate_password
from headwater.gateway.identity.service import Identity
from headwater.gateway.identity.users import NewUser


async def bootstrap_superuser(identity: Identity) -> list[str]:
    """Make sure the bootstrap superuser (and its bootstrap API token, when configured) exist; returns what
    to tell the operator, including a generated password, once, when the user is new and none was given."""
    s = identity.settings
    lines: list[str] = []
    user = await identity.store.user_for_login(s.admin_username)
    if user is None:
        password = s.admin_password or generate_password()
        user = await identity.users.create(
            NewUser(
                username=s.admin_username,
                email=s.admin_email,
                password=password,
                user_type="superuser",
                is_verified=True,
            )
        )
        lines.append(f"created superuser {s.admin_username!r}")
        if not s.admin_password:
            lines.append(f"one-time password of {s.admin_username!r}: {password}  (shown only now)")
    elif user["user_type"] != "superuser":
        lines.append(f"warning: {s.admin_username!r} exists but is {user['user_type']}, not superuser")
    if s.bootstrap_token:
        owner = principal_of(user, "internal")
        try:
            await identity.tokens.create(owner, "bootstrap", token=s.bootstrap_token)
            lines.append(f"created the bootstrap API token of {s.admin_username!r}")
        except Conflict:  # created by an earlier `make up`
            if not await identity.tokens.is_live(s.bootstrap_token):
                lines.append(
                    "warning: HEADWATER_BOOTSTRAP_TOKEN was revoked or has expired (a password change revokes "
                    "a user's API tokens); set a new value to get a new bootstrap token"
                )
    return lines

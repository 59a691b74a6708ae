"""Operator commands on the identity store (`python -m headwater.gateway bootstrap|create-user|set-password`).

They print what the operator must know — including a generated password, once — to stdout, and nothing
secret to the logs.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

from headwater.common.errors import UseCaseError
from headwater.gateway import SERVICE
from headwater.gateway.bootstrap import identity_for
from headwater.gateway.identity import credentials
from headwater.gateway.identity.service import Identity
from headwater.gateway.identity.superuser import bootstrap_superuser
from headwater.gateway.identity.users import NewUser
from headwater.gateway.settings import Settings


async def _with_identity(settings: Settings, work: Callable[[Identity], Awaitable[int]]) -> int:
    from headwater.common.logging import configure_logging

    configure_logging(SERVICE, level="WARNING", json=settings.log_json)
    identity, engine = identity_for(settings)
    try:
        return await work(identity)
    except UseCaseError as exc:
        print(f"headwater.gateway: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()


async def bootstrap(settings: Settings) -> int:
    async def work(identity: Identity) -> int:
        for line in await bootstrap_superuser(identity):
            print(line)
        return 0

    return await _with_identity(settings, work)


async def create_user(settings: Settings, username: str, email: str, role: Any, password: str | None) -> int:
    async def work(identity: Identity) -> int:
        secret = password or credentials.generate_password()
        await identity.users.create(NewUser(username=username, email=email, password=secret, user_type=role))
        print(f"created {role} {username!r}")
        if not password:
            print(f"one-time password of {username!r}: {secret}  (shown only now)")
        return 0

    return await _with_identity(settings, work)


async def set_password(settings: Settings, username: str, password: str | None) -> int:
    async def work(identity: Identity) -> int:
        user = await identity.store.user_for_login(username)
        if user is None:
            print(f"headwater.gateway: no user {username!r}", file=sys.stderr)
            return 1
        secret = password or credentials.generate_password()
        await identity.users.update(str(user["id"]), {"password": secret})
        print(f"password of {username!r} set")
        if not password:
            print(f"one-time password of {username!r}: {secret}  (shown only now)")
        return 0

    return await _with_identity(settings, work)

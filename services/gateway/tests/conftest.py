"""Fixtures of the gateway's tests: the real identity store on the session's Postgres, fake upstream services."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar.testing import AsyncTestClient

from headwater.common.principal import ROLES, Role
from headwater.devstack.stack import Stack
from headwater.gateway.app import create_app
from headwater.gateway.bootstrap import Container, bootstrap, identity_for
from headwater.gateway.identity.authentication import principal_of
from headwater.gateway.identity.users import NewUser
from headwater.gateway.settings import Settings
from headwater.gateway.testing import FakeUpstream

PASSWORD = "correct horse battery"


def gateway_settings(stack: Stack, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": stack.service_dsn("gateway"),
        "signing_key": "k" * 40,
        "log_json": False,
        "cors_allow_origins": "http://localhost:8000,https://ui.example.com",
        "principal_cache_seconds": 0.0,
        "signups_per_address": 1000,  # every test client signs up from one address; one test checks the limit
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Gateway:
    """The gateway app on the real identity store; every upstream a fake that answers 200 `{}`."""

    container: Container
    client: AsyncTestClient  # type: ignore[type-arg]
    tokens: dict[Role, str]  # an API token of a fresh user of each role
    users: dict[Role, str]  # their ids

    def as_role(self, role: Role) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"}


async def gateway_on(stack: Stack, **overrides: object) -> AsyncIterator[Gateway]:
    settings = gateway_settings(stack, **overrides)
    tokens: dict[Role, str] = {}
    users: dict[Role, str] = {}
    tag = uuid.uuid4().hex[:8]
    # Set-up on an engine of its own: the app's engine belongs to the test client's event loop.
    identity, engine = identity_for(settings)
    for role in ROLES:
        user = await identity.users.create(
            NewUser(
                username=f"{role}-{tag}",
                email=f"{role}-{tag}@example.com",
                password=PASSWORD,
                user_type=role,
                data_source_ids=(7,) if role == "limited_to_source" else (),
            )
        )
        _, tokens[role] = await identity.tokens.create(principal_of(user, "api_token"), "tests")
        users[role] = str(user["id"])
    await engine.dispose()
    c = bootstrap(settings)
    for name in ("execution_tracking", "quality_alerting", "scheduler", "ingestion"):
        setattr(c, name, FakeUpstream(name))
    async with AsyncTestClient(create_app(c)) as client:
        yield Gateway(c, client, tokens, users)


@pytest.fixture(scope="session")
async def gw(stack: Stack) -> AsyncIterator[Gateway]:
    async for g in gateway_on(stack):
        yield g

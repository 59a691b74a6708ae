"""The gateway's own database stops answering: logins, authenticated calls and readiness answer 503 with
Retry-After (in each dialect's shape) at once, readiness without saying why, and it recovers."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Iterator

import pytest

from headwater.common.http import DATABASE_UNAVAILABLE
from headwater.common.testing import eventually
from headwater.common.testing.tcp_proxy import TcpProxy, tcp_proxy
from headwater.devstack.stack import Stack

from ..conftest import PASSWORD, Gateway, gateway_on

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(stack: Stack) -> Iterator[TcpProxy]:
    url = urllib.parse.urlsplit(stack.service_dsn("gateway"))
    with tcp_proxy(url.hostname or "127.0.0.1", url.port or 5432) as p:
        yield p


@pytest.fixture
async def gateway(stack: Stack, proxy: TcpProxy) -> AsyncIterator[Gateway]:
    url = urllib.parse.urlsplit(stack.service_dsn("gateway"))
    credentials = url.netloc.rsplit("@", 1)[0]
    dsn = url._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}").geturl()
    async for g in gateway_on(
        stack,
        database_url=dsn,
        db_connect_timeout_seconds=0.5,
        db_statement_timeout_seconds=0.5,
        db_pool_timeout_seconds=0.5,
    ):
        yield g


async def test_the_gateway_database_away_is_503_everywhere_then_recovers(
    gateway: Gateway, proxy: TcpProxy
) -> None:
    client = gateway.client
    editor = gateway.as_role("editor")
    assert (await client.get("/pipeline", headers=editor)).status_code == 200

    proxy.blackhole()
    login = await client.post("/login", json={"username": "nobody", "password": PASSWORD})
    assert (login.status_code, login.json()) == (503, {"success": False, "message": DATABASE_UNAVAILABLE})
    assert login.headers["retry-after"] == "5"
    token = await client.post("/token", data={"username": "nobody", "password": PASSWORD})
    assert (token.status_code, token.json()) == (503, {"detail": DATABASE_UNAVAILABLE})
    listed = await client.get("/pipeline", headers=editor)
    assert (listed.status_code, listed.json()) == (503, {"detail": DATABASE_UNAVAILABLE})
    ready = await client.get("/health/ready")
    assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})

    proxy.restore()

    async def served_again() -> None:
        assert (await client.get("/pipeline", headers=editor)).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200

    await eventually(served_again)

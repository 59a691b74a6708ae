"""A database that stops answering, or answers too slowly, makes the internal API answer 503 with Retry-After and
a generic body at once (never a 500, never a hang), readiness says nothing about why, and the service recovers
when the database is back."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.http import DATABASE_UNAVAILABLE, STATEMENT_TIMEOUT
from headwater.common.principal import HEADER, Principal
from headwater.common.testing import eventually
from headwater.common.testing.tcp_proxy import TcpProxy, tcp_proxy
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.execution_tracking import SCHEMA
from headwater.execution_tracking.bootstrap import bootstrap
from headwater.execution_tracking.entrypoints.http.app import create_app
from headwater.execution_tracking.settings import Settings

pytestmark = pytest.mark.integration

EDITOR = {HEADER: Principal(subject="42", role="editor").header()}


def through(proxy: TcpProxy, dsn: str) -> str:
    """`dsn` with its host and port replaced by the proxy's."""
    url = urllib.parse.urlsplit(dsn)
    credentials = url.netloc.rsplit("@", 1)[0]
    return url._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}").geturl()


@asynccontextmanager
async def service(stack: Stack, **fields: object) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = msgspec.structs.replace(settings_on(stack, Settings, SCHEMA), **fields)
    async with AsyncTestClient(create_app(bootstrap(settings))) as client:
        client.auth = SignedCalls(stack.internal_signing_key)
        yield client


@pytest.fixture
def proxy(stack: Stack) -> Iterator[TcpProxy]:
    url = urllib.parse.urlsplit(stack.service_dsn(SCHEMA))
    with tcp_proxy(url.hostname or "127.0.0.1", url.port or 5432) as p:
        yield p


def assert_unavailable(response: object, detail: str) -> None:
    assert response.status_code == 503, response.text  # type: ignore[attr-defined]
    assert response.headers["retry-after"].isdigit()  # type: ignore[attr-defined]
    assert response.json() == {"detail": detail}  # type: ignore[attr-defined]


async def test_a_database_that_stops_answering_gets_503_with_retry_after_then_recovers(
    stack: Stack, proxy: TcpProxy
) -> None:
    async with service(
        stack,
        database_url=through(proxy, stack.service_dsn(SCHEMA)),
        db_connect_timeout_seconds=0.5,
        db_statement_timeout_seconds=0.5,
        db_pool_timeout_seconds=0.5,
    ) as client:
        assert (await client.get("/pipeline", headers=EDITOR)).status_code == 200
        assert (await client.get("/health/ready")).status_code == 200

        proxy.blackhole()
        assert_unavailable(await client.get("/pipeline", headers=EDITOR), DATABASE_UNAVAILABLE)
        # the hot path (raw asyncpg) too: nothing is recorded, the caller is told to retry
        started = await client.post("/start_pipeline_execution", json={"pipeline_id": 1}, headers=EDITOR)
        assert_unavailable(started, DATABASE_UNAVAILABLE)
        ready = await client.get("/health/ready")
        assert (ready.status_code, ready.json()) == (503, {"status": "unavailable"})

        proxy.restore()

        async def served_again() -> None:
            assert (await client.get("/pipeline", headers=EDITOR)).status_code == 200
            assert (await client.get("/health/ready")).status_code == 200

        await eventually(served_again)


async def test_a_statement_past_the_statement_timeout_gets_503_and_nothing_hangs(stack: Stack) -> None:
    """A table locked by someone else stands in for a database too busy to answer: lists, writes and
    lineage walks give up at the statement timeout."""
    async with service(stack, db_statement_timeout_seconds=0.3) as client:
        created = await client.post(
            "/pipeline", json={"name": "locked out", "pipeline_type_name": "etl"}, headers=EDITOR
        )
        pipeline_id = created.json()["id"]
        admin = await asyncpg.connect(stack.admin_dsn)
        try:
            async with admin.transaction():
                await admin.execute(
                    f"LOCK TABLE {SCHEMA}.pipeline, {SCHEMA}.address_lineage IN ACCESS EXCLUSIVE MODE"
                )
                assert_unavailable(await client.get("/pipeline", headers=EDITOR), STATEMENT_TIMEOUT)
                patched = await client.patch(
                    "/pipeline", json={"id": pipeline_id, "load_lineage": False}, headers=EDITOR
                )
                assert_unavailable(patched, STATEMENT_TIMEOUT)
                lineage = await client.get(f"/lineage/pipeline/{pipeline_id}?depth=100", headers=EDITOR)
                assert_unavailable(lineage, STATEMENT_TIMEOUT)
        finally:
            await admin.close()
        got = await client.get(f"/pipeline/{pipeline_id}", headers=EDITOR)
        assert got.json()["load_lineage"] is True  # the refused write changed nothing


async def test_a_lineage_walk_past_its_budget_gets_503_saying_to_ask_for_less(stack: Stack) -> None:
    """Each hop of a walk is one short statement; the walk as a whole stops at `lineage_timeout_seconds`."""
    async with service(stack, lineage_timeout_seconds=0.3) as client:
        created = await client.post(
            "/address",
            json={
                "name": "deep.lineage.t",
                "address_type_name": "postgres",
                "address_type_group_name": "database",
            },
            headers=EDITOR,
        )
        address_id = created.json()["id"]
        admin = await asyncpg.connect(stack.admin_dsn)
        try:
            async with admin.transaction():
                await admin.execute(f"LOCK TABLE {SCHEMA}.address_lineage IN ACCESS EXCLUSIVE MODE")
                walked = await client.get(f"/lineage/address/{address_id}?depth=100", headers=EDITOR)
        finally:
            await admin.close()
        assert walked.status_code == 503, walked.text
        assert walked.headers["retry-after"] == "5"
        assert "smaller depth or limit" in walked.json()["detail"]
        assert (await client.get(f"/lineage/address/{address_id}", headers=EDITOR)).status_code == 200

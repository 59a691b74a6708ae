"""The `scheduler` schema (migrations down and up match the tables in code) and the internal HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.events import ChecksRequested
from headwater.common.http import LIMITED_TO_SOURCE_REFUSED
from headwater.common.principal import HEADER, Principal
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SchemaAndRoleTests, SignedCalls
from headwater.scheduler import SCHEMA
from headwater.scheduler.clock import ManualClock
from headwater.scheduler.entrypoints.http.app import create_app
from headwater.scheduler.entrypoints.schedule_loop import ScheduleLoop
from headwater.scheduler.testing import NewContainer, NewDatabase, outbox_events

pytestmark = pytest.mark.integration


class TestSchemaAndRole(SchemaAndRoleTests):
    package = "headwater.scheduler"
    head = "0002"


async def test_a_firing_refers_to_its_schedule(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.service_dsn(SCHEMA))
    try:
        fks = await conn.fetch(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND connamespace = 'scheduler'::regnamespace"
        )
    finally:
        await conn.close()
    assert [r["conname"] for r in fks] == ["fk_schedule_firing_schedule_name_schedule"]


# -- the internal HTTP API --------------------------------------------------------------------------------------

NOW = datetime(2024, 1, 1, 10, 7, tzinfo=UTC)
Api = tuple[AsyncTestClient[Litestar], str]


@pytest.fixture
async def api(
    stack: Stack, new_database: NewDatabase, new_container: NewContainer
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], str]]:
    dsn = await new_database()
    container = await new_container(dsn, ManualClock(NOW))
    async with AsyncTestClient(create_app(container)) as client:
        client.auth = SignedCalls(stack.internal_signing_key)
        yield client, dsn


@pytest.mark.parametrize(
    ("path", "body", "answer", "check", "lookback"),
    [
        ("/freshness", None, "queued", "freshness", None),
        ("/timeliness", {"lookback_minutes": 30}, "queued", "timeliness", 30),
        ("/timeliness", {"lookback_minutes": 5}, "queued", "timeliness", 5),
        ("/timeliness", {}, "queued", "timeliness", 60),
        ("/timeliness", None, "queued", "timeliness", 60),
        ("/timeliness", {"lookback_minutes": 45, "unknown": "ignored"}, "queued", "timeliness", 45),
        ("/celery/monitor-queue", None, "success", "queue", None),
    ],
)
async def test_a_requested_check_is_queued_through_the_outbox_with_its_lookback(
    api: Api, path: str, body: object, answer: str, check: str, lookback: int | None
) -> None:
    client, dsn = api
    r = await client.post(path, json=body) if body is not None else await client.post(path)
    assert (r.status_code, r.json()) == (200, {"status": answer})
    (event,) = await outbox_events(dsn)
    assert isinstance(event, ChecksRequested)
    assert (event.check, event.lookback_minutes, event.schedule, event.due_at) == (
        check,
        lookback,
        None,
        None,
    )


@pytest.mark.parametrize(
    "body",
    [{"lookback_minutes": 4}, {"lookback_minutes": 0}, {"lookback_minutes": -60}, {"lookback_minutes": "x"}],
)
async def test_a_lookback_under_five_minutes_is_422_and_queues_nothing(api: Api, body: object) -> None:
    client, dsn = api
    r = await client.post("/timeliness", json=body)
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "lookback_minutes"]
    assert await outbox_events(dsn) == []


async def test_a_limited_principal_is_refused_and_an_editor_served(api: Api) -> None:
    """Schedules and checks belong to no data source: a `limited_to_source` principal may use none."""
    client, dsn = api
    limited = {HEADER: Principal(subject="41", role="limited_to_source", data_sources=(1,)).header()}
    for method, path in (("GET", "/schedules"), ("POST", "/freshness"), ("POST", "/celery/monitor-queue")):
        r = await client.request(method, path, headers=limited)
        assert (r.status_code, r.json()) == (403, {"detail": LIMITED_TO_SOURCE_REFUSED})
    assert await outbox_events(dsn) == []

    editor = {HEADER: Principal(subject="42", role="editor", via="api_token").header()}
    r = await client.post("/freshness", headers=editor)
    assert (r.status_code, r.json()) == (200, {"status": "queued"})
    (event,) = await outbox_events(dsn)
    assert isinstance(event, ChecksRequested)
    assert (await client.get("/schedules", headers=editor)).status_code == 200
    assert (await client.get("/health/live")).status_code == 200


async def test_schedules_are_listed(api: Api, new_container: NewContainer) -> None:
    client, dsn = api
    assert (await client.get("/schedules")).json() == []
    container = await new_container(dsn, ManualClock(NOW), freshness_cron="off")
    await ScheduleLoop(
        container.uow_factory, schedules=container.schedules, clock=container.clock
    ).reconcile()
    r = await client.get("/schedules")
    assert r.status_code == 200
    assert r.json() == [
        {
            "name": "freshness",
            "cron": "off",
            "enabled": False,
            "next_due_at": "2024-01-01T10:07:00Z",
            "last_fired_at": None,
        },
        {
            "name": "queue_monitor",
            "cron": "*/5 * * * *",
            "enabled": True,
            "next_due_at": "2024-01-01T10:10:00Z",
            "last_fired_at": None,
        },
        {
            "name": "retention",
            "cron": "30 3 * * *",
            "enabled": True,
            "next_due_at": "2024-01-02T03:30:00Z",
            "last_fired_at": None,
        },
        {
            "name": "timeliness",
            "cron": "*/15 * * * *",
            "enabled": True,
            "next_due_at": "2024-01-01T10:15:00Z",
            "last_fired_at": None,
        },
    ]

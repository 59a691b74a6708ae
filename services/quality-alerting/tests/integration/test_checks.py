"""Freshness and timeliness checks on the real Postgres: who is stale or late, calendar arithmetic, muting,
logging and alerting once, and the `alert.raised` outbox rows.

The checks look at every pipeline of the shared test database, so each test works in its own far-future
moments (real-clock checks never reach them) and asserts only about its own random pipeline ids.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import text

from headwater.common.errors import Invalid
from headwater.quality_alerting.adapters.db.checks import due_at
from headwater.quality_alerting.bootstrap import Container
from headwater.quality_alerting.domain.slo import DATEPARTS, add_dateparts
from headwater.quality_alerting.service_layer.checks import CheckCounts, check_freshness, check_timeliness
from headwater.quality_alerting.testing import write

pytestmark = pytest.mark.integration

SECOND = timedelta(seconds=1)


def new_id() -> int:
    return secrets.randbelow(2**62) + 1


def far_future() -> datetime:
    """A random whole minute in the 2300s, so tests do not meet each other's moments."""
    minutes = secrets.randbelow(60 * 24 * 365 * 90)
    return datetime(2300, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)


async def add_pipeline(
    c: Container,
    *,
    last_dml_at: datetime | None = None,
    freshness: tuple[int, str] | None = None,
    timeliness: tuple[int, str] | None = None,
    mute_freshness: bool = False,
    mute_timeliness: bool = False,
    active: bool = True,
) -> int:
    """A row of quality-alerting's copy of pipeline settings, as `pipeline.changed` leaves it (effective
    settings: the pipeline's own or its type's numbers, muted when either mutes)."""
    pipeline_id = new_id()
    await write(
        c.engine,
        "INSERT INTO pipeline_settings (pipeline_id, name, pipeline_type_id, pipeline_type_name, active, "
        "freshness_number, freshness_datepart, mute_freshness_check, timeliness_number, "
        "timeliness_datepart, mute_timeliness_check, last_dml_at, as_of) VALUES (:id, :name, :type_id, "
        "'checks-type', :active, :fn, :fd, :fm, :tn, :td, :tm, :dml, now())",
        id=pipeline_id,
        name=f"pipe-{pipeline_id}",
        type_id=pipeline_id % 1000,
        active=active,
        fn=freshness[0] if freshness else None,
        fd=freshness[1] if freshness else None,
        fm=mute_freshness,
        tn=timeliness[0] if timeliness else None,
        td=timeliness[1] if timeliness else None,
        tm=mute_timeliness,
        dml=last_dml_at,
    )
    return pipeline_id


async def set_last_dml(c: Container, pipeline_id: int, last_dml_at: datetime) -> None:
    await write(
        c.engine,
        "UPDATE pipeline_settings SET last_dml_at = :dml WHERE pipeline_id = :id",
        dml=last_dml_at,
        id=pipeline_id,
    )


async def add_execution(
    c: Container,
    pipeline_id: int,
    start: datetime,
    end: datetime | None = None,
    succeeded: bool | None = None,
) -> int:
    execution_id = new_id()
    await write(
        c.engine,
        "INSERT INTO execution_metric (execution_id, pipeline_id, start_date, end_date, hour_recorded, "
        "day_of_week, completed_successfully) VALUES (:id, :pipeline_id, :start, :end, :hour, :dow, :ok)",
        id=execution_id,
        pipeline_id=pipeline_id,
        start=start,
        end=end,
        hour=start.hour,
        dow=start.isoweekday(),
        ok=succeeded,
    )
    return execution_id


async def end_execution(c: Container, execution_id: int, end: datetime, succeeded: bool) -> None:
    await write(
        c.engine,
        "UPDATE execution_metric SET end_date = :end, completed_successfully = :ok WHERE execution_id = :id",
        end=end,
        ok=succeeded,
        id=execution_id,
    )


async def rows(c: Container, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with c.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text(sql), params)).mappings()]


async def freshness_logged(c: Container, pipeline_id: int) -> list[dict[str, Any]]:
    return await rows(
        c, "SELECT * FROM freshness_log WHERE pipeline_id = :id ORDER BY last_dml_at", id=pipeline_id
    )


async def timeliness_logged(c: Container, execution_id: int) -> list[dict[str, Any]]:
    return await rows(c, "SELECT * FROM timeliness_log WHERE execution_id = :id", id=execution_id)


async def alerts_of(c: Container, pipeline_id: int, alert_type: str) -> list[dict[str, Any]]:
    return await rows(
        c,
        "SELECT * FROM alert WHERE pipeline_id = :id AND alert_type = :type ORDER BY id",
        id=pipeline_id,
        type=alert_type,
    )


async def alert_raised_events(c: Container, alert_ids: list[int]) -> list[dict[str, Any]]:
    found = await rows(
        c,
        "SELECT key, payload FROM outbox WHERE topic = 'alert.raised' AND key = ANY(:keys) ORDER BY id",
        keys=[str(i) for i in alert_ids],
    )
    return [msgspec.json.decode(r["payload"]) for r in found]


# -- freshness ---------------------------------------------------------------------------------------------------


async def test_every_datepart_is_stale_only_after_last_dml_plus_its_interval(container: Container) -> None:
    base = far_future()
    pipelines = {
        datepart: await add_pipeline(container, last_dml_at=base, freshness=(2, datepart))
        for datepart in DATEPARTS
    }
    for datepart in DATEPARTS:  # dateparts grow, so their due times come in this order
        due = add_dateparts(base, 2, datepart)
        pipeline_id = pipelines[datepart]
        await check_freshness(container.uow_factory(), due - SECOND)
        await check_freshness(container.uow_factory(), due)  # stale only once due is *before* now
        assert await freshness_logged(container, pipeline_id) == [], datepart
        await check_freshness(container.uow_factory(), due + SECOND)
        [logged] = await freshness_logged(container, pipeline_id)
        assert (logged["last_dml_at"], logged["due_at"]) == (base, due), datepart
        assert (logged["freshness_number"], logged["freshness_datepart"]) == (2, datepart)


@pytest.mark.parametrize(
    ("last_dml_at", "number", "datepart", "due"),
    [
        (datetime(2304, 1, 31, 12, tzinfo=UTC), 1, "month", datetime(2304, 2, 29, 12, tzinfo=UTC)),  # leap
        (datetime(2305, 1, 31, 12, tzinfo=UTC), 1, "month", datetime(2305, 2, 28, 12, tzinfo=UTC)),
        (datetime(2306, 3, 31, 23, 59, tzinfo=UTC), 1, "month", datetime(2306, 4, 30, 23, 59, tzinfo=UTC)),
        (datetime(2307, 11, 30, 6, tzinfo=UTC), 3, "month", datetime(2308, 2, 29, 6, tzinfo=UTC)),
        (datetime(2309, 12, 31, tzinfo=UTC), 2, "month", datetime(2310, 2, 28, tzinfo=UTC)),
        (datetime(2312, 2, 29, 8, tzinfo=UTC), 1, "year", datetime(2313, 2, 28, 8, tzinfo=UTC)),
        (datetime(2316, 2, 29, 8, tzinfo=UTC), 4, "year", datetime(2320, 2, 29, 8, tzinfo=UTC)),
        (datetime(2321, 12, 31, 23, tzinfo=UTC), 1, "day", datetime(2322, 1, 1, 23, tzinfo=UTC)),
        (datetime(2323, 12, 28, 10, tzinfo=UTC), 1, "week", datetime(2324, 1, 4, 10, tzinfo=UTC)),
    ],
)
async def test_months_and_years_are_calendar_months_and_years(
    container: Container, last_dml_at: datetime, number: int, datepart: str, due: datetime
) -> None:
    assert add_dateparts(last_dml_at, number, datepart) == due  # the Python twin agrees
    pipeline_id = await add_pipeline(container, last_dml_at=last_dml_at, freshness=(number, datepart))
    await check_freshness(container.uow_factory(), due - SECOND)
    await check_freshness(container.uow_factory(), due)
    assert await freshness_logged(container, pipeline_id) == []
    await check_freshness(container.uow_factory(), due + SECOND)
    [logged] = await freshness_logged(container, pipeline_id)
    assert logged["due_at"] == due


async def test_intervals_are_added_in_utc_whatever_the_sessions_time_zone(container: Container) -> None:
    # 2024-03-10 is a 23-hour day in New York: in that zone `+ 1 day` would be 23 hours later.
    moment = datetime(2024, 3, 9, 12, tzinfo=UTC)
    async with container.engine.connect() as conn:
        await conn.execute(text("SET TIME ZONE 'America/New_York'"))
        t = "CAST(:t AS timestamptz)"
        day, month = due_at(t, "1", "'day'"), due_at(t, "1", "'month'")
        result = (await conn.execute(text(f"SELECT {day} AS day, {month} AS month"), {"t": moment})).one()
        await conn.rollback()
    assert result.day == moment + timedelta(days=1)
    assert result.month == datetime(2024, 4, 9, 12, tzinfo=UTC)


async def test_stale_pipeline_is_logged_and_alerted_once_per_dml_timestamp(container: Container) -> None:
    base = far_future()
    pipeline_id = await add_pipeline(container, last_dml_at=base, freshness=(1, "hour"))
    stale_at = base + timedelta(hours=2)
    first = await check_freshness(container.uow_factory(), stale_at)
    assert first.found >= 1
    assert first.alerts_raised == first.found
    # Repeated checks, at the same time or later, find nothing new: not for this pipeline, not for any.
    assert await check_freshness(container.uow_factory(), stale_at) == CheckCounts(found=0, alerts_raised=0)
    await check_freshness(container.uow_factory(), stale_at + timedelta(hours=5))
    assert len(await freshness_logged(container, pipeline_id)) == 1
    [alert] = await alerts_of(container, pipeline_id, "freshness")

    name = f"pipe-{pipeline_id}"
    assert alert["severity"] == "warning"
    assert alert["dedup_key"] == f"freshness:{pipeline_id}:{base.isoformat()}"
    assert alert["condition_key"] == f"freshness:{pipeline_id}"
    assert (alert["pipeline_name"], alert["pipeline_type_id"], alert["execution_id"]) == (
        name,
        pipeline_id % 1000,
        None,
    )
    assert f"'{name}' is stale" in alert["msg"]
    assert base.isoformat() in alert["msg"]
    assert alert["body"] == {
        "pipeline_id": pipeline_id,
        "pipeline_name": name,
        "pipeline_type_id": pipeline_id % 1000,
        "last_dml_at": base.isoformat(),
        "due_at": (base + timedelta(hours=1)).isoformat(),
        "freshness_number": 1,
        "freshness_datepart": "hour",
    }
    [event] = await alert_raised_events(container, [alert["id"]])
    assert event["type"] == "alert.raised.v1"
    assert (event["alert_id"], event["alert_type"], event["pipeline_id"]) == (
        alert["id"],
        "freshness",
        pipeline_id,
    )
    assert event["details"] == alert["body"]

    # New data arrives: fresh again, until that DML goes stale too; then it alerts again, once.
    new_dml = base + timedelta(hours=6)
    await set_last_dml(container, pipeline_id, new_dml)
    await check_freshness(container.uow_factory(), new_dml + timedelta(minutes=30))
    assert len(await freshness_logged(container, pipeline_id)) == 1
    for _ in range(2):
        await check_freshness(container.uow_factory(), new_dml + timedelta(hours=1, minutes=1))
    logged = await freshness_logged(container, pipeline_id)
    assert [r["last_dml_at"] for r in logged] == [base, new_dml]
    alerts = await alerts_of(container, pipeline_id, "freshness")
    assert [a["dedup_key"] for a in alerts] == [
        f"freshness:{pipeline_id}:{base.isoformat()}",
        f"freshness:{pipeline_id}:{new_dml.isoformat()}",
    ]
    assert len(await alert_raised_events(container, [a["id"] for a in alerts])) == 2


async def test_muted_unset_inactive_or_never_loaded_pipelines_are_never_stale(container: Container) -> None:
    base = far_future()
    skipped = {
        # muting at the pipeline or its type is stored as one effective flag by the pipeline.changed copy
        "muted": await add_pipeline(
            container, last_dml_at=base, freshness=(1, "minute"), mute_freshness=True
        ),
        "no settings": await add_pipeline(container, last_dml_at=base),
        "inactive": await add_pipeline(container, last_dml_at=base, freshness=(1, "minute"), active=False),
        "no DML": await add_pipeline(container, freshness=(1, "minute")),
    }
    # muting timeliness leaves freshness alone
    checked = await add_pipeline(container, last_dml_at=base, freshness=(1, "minute"), mute_timeliness=True)
    await check_freshness(container.uow_factory(), base + timedelta(days=400))
    for why, pipeline_id in skipped.items():
        assert await freshness_logged(container, pipeline_id) == [], why
        assert await alerts_of(container, pipeline_id, "freshness") == [], why
    assert len(await freshness_logged(container, checked)) == 1


async def test_concurrent_checks_alert_once(container: Container) -> None:
    base = far_future()
    pipeline_ids = [await add_pipeline(container, last_dml_at=base, freshness=(1, "day")) for _ in range(20)]
    now = base + timedelta(days=2)
    results = await asyncio.gather(*(check_freshness(container.uow_factory(), now) for _ in range(4)))
    assert sorted(r.found for r in results)[:3] == [0, 0, 0]  # one found them, the others nothing
    for pipeline_id in pipeline_ids:
        assert len(await alerts_of(container, pipeline_id, "freshness")) == 1


async def test_checks_refuse_naive_times_and_short_lookbacks(container: Container) -> None:
    with pytest.raises(Invalid, match="timezone-aware"):
        await check_freshness(container.uow_factory(), datetime(2300, 1, 1))
    with pytest.raises(Invalid, match="lookback_minutes"):
        await check_timeliness(container.uow_factory(), far_future(), 0)


# -- timeliness --------------------------------------------------------------------------------------------------


async def test_a_running_execution_is_late_once_now_passes_its_start_plus_the_interval(
    container: Container,
) -> None:
    start = far_future()
    pipeline_id = await add_pipeline(container, timeliness=(1, "hour"))
    execution_id = await add_execution(container, pipeline_id, start)
    await check_timeliness(container.uow_factory(), start + timedelta(minutes=59), 120)
    await check_timeliness(container.uow_factory(), start + timedelta(hours=1), 120)
    assert await timeliness_logged(container, execution_id) == []
    await check_timeliness(container.uow_factory(), start + timedelta(minutes=61), 120)
    [logged] = await timeliness_logged(container, execution_id)
    assert (logged["status"], logged["start_date"], logged["end_date"]) == ("running", start, None)
    assert logged["due_at"] == start + timedelta(hours=1)

    [alert] = await alerts_of(container, pipeline_id, "timeliness")
    assert (alert["execution_id"], alert["dedup_key"], alert["condition_key"]) == (
        execution_id,
        f"timeliness:{execution_id}",
        f"timeliness:{pipeline_id}",
    )
    assert f"Execution {execution_id} of pipeline 'pipe-{pipeline_id}' is still running" in alert["msg"]
    assert alert["body"]["status"] == "running"
    assert alert["body"]["due_at"] == (start + timedelta(hours=1)).isoformat()
    [event] = await alert_raised_events(container, [alert["id"]])
    assert (event["alert_type"], event["execution_id"]) == ("timeliness", execution_id)

    # Checked again while still running, then after it succeeded (late): still one log row and one alert.
    await check_timeliness(container.uow_factory(), start + timedelta(minutes=90), 120)
    await end_execution(container, execution_id, start + timedelta(minutes=95), succeeded=True)
    assert await check_timeliness(
        container.uow_factory(), start + timedelta(minutes=100), 120
    ) == CheckCounts(0, 0)
    assert len(await timeliness_logged(container, execution_id)) == 1
    assert len(await alerts_of(container, pipeline_id, "timeliness")) == 1


async def test_a_succeeded_execution_is_late_when_it_ended_after_its_due_time(container: Container) -> None:
    start = far_future()
    pipeline_id = await add_pipeline(container, timeliness=(30, "minute"))
    late = await add_execution(container, pipeline_id, start, start + timedelta(minutes=31), succeeded=True)
    on_time = await add_execution(
        container, pipeline_id, start, start + timedelta(minutes=30), succeeded=True
    )
    failed = await add_execution(container, pipeline_id, start, start + timedelta(hours=5), succeeded=False)
    now = start + timedelta(hours=6)
    for _ in range(2):
        await check_timeliness(container.uow_factory(), now, 7 * 60)
    [logged] = await timeliness_logged(container, late)
    assert (logged["status"], logged["end_date"]) == ("succeeded", start + timedelta(minutes=31))
    assert await timeliness_logged(container, on_time) == []
    assert await timeliness_logged(container, failed) == []  # failed runs are never late
    [alert] = await alerts_of(container, pipeline_id, "timeliness")
    assert alert["execution_id"] == late
    assert "finished late" in alert["msg"]
    assert alert["body"]["end_date"] == (start + timedelta(minutes=31)).isoformat()


async def test_only_executions_started_within_the_lookback_are_checked(container: Container) -> None:
    now = far_future()
    pipeline_id = await add_pipeline(container, timeliness=(1, "minute"))
    old = await add_execution(container, pipeline_id, now - timedelta(minutes=61))
    recent = await add_execution(container, pipeline_id, now - timedelta(minutes=60))
    not_yet = await add_execution(container, pipeline_id, now + timedelta(minutes=1))  # starts after `now`
    await check_timeliness(container.uow_factory(), now, 60)
    assert await timeliness_logged(container, old) == []
    assert len(await timeliness_logged(container, recent)) == 1
    assert await timeliness_logged(container, not_yet) == []
    await check_timeliness(container.uow_factory(), now, 90)  # a longer lookback reaches the older one
    assert len(await timeliness_logged(container, old)) == 1


async def test_muted_unset_or_inactive_pipelines_are_never_late(container: Container) -> None:
    start = far_future()
    skipped = {
        "muted": await add_pipeline(container, timeliness=(1, "minute"), mute_timeliness=True),
        "no settings": await add_pipeline(container, freshness=(1, "minute")),
        "inactive": await add_pipeline(container, timeliness=(1, "minute"), active=False),
    }
    checked = await add_pipeline(container, timeliness=(1, "minute"), mute_freshness=True)
    executions = {why: await add_execution(container, p, start) for why, p in skipped.items()}
    checked_execution = await add_execution(container, checked, start)
    await check_timeliness(container.uow_factory(), start + timedelta(minutes=10), 60)
    for why, execution_id in executions.items():
        assert await timeliness_logged(container, execution_id) == [], why
    assert len(await timeliness_logged(container, checked_execution)) == 1


async def test_timeliness_months_are_calendar_months(container: Container) -> None:
    start = datetime(2340, 1, 31, 9, tzinfo=UTC)
    pipeline_id = await add_pipeline(container, timeliness=(1, "month"))
    execution_id = await add_execution(container, pipeline_id, start)
    lookback = 60 * 24 * 60  # 60 days
    await check_timeliness(container.uow_factory(), datetime(2340, 2, 29, 9, tzinfo=UTC), lookback)
    assert await timeliness_logged(container, execution_id) == []
    await check_timeliness(container.uow_factory(), datetime(2340, 2, 29, 9, 1, tzinfo=UTC), lookback)
    [logged] = await timeliness_logged(container, execution_id)
    assert logged["due_at"] == datetime(2340, 2, 29, 9, tzinfo=UTC)

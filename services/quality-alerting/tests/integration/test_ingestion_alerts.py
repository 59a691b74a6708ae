"""Ingestion alerts on the real Postgres and broker: quarantined rows raise one alert per (file, alert type),
muted unless the quarantine blocked the file; a failed file raises a visible alert and a fatal error; a
redelivered event creates nothing twice."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import text

from headwater.common.events import FileIngested, RowsQuarantined, encode_event
from headwater.common.messaging.broker import create_broker, create_producer
from headwater.common.paging import Cursor
from headwater.common.testing import produce
from headwater.common.testing.polling import eventually
from headwater.devstack.kafka import create_topics
from headwater.devstack.stack import Stack
from headwater.quality_alerting.bootstrap import Container
from headwater.quality_alerting.domain.alerts import Alert, AlertFilter
from headwater.quality_alerting.domain.fatal_errors import FatalError, FatalErrorFilter
from headwater.quality_alerting.entrypoints.messaging.subscribers import register_subscribers
from headwater.quality_alerting.service_layer import alerts, fatal_errors
from headwater.quality_alerting.service_layer.ingestion import alert_on_ingestion

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def new_id() -> int:
    return random.randint(10**9, 2**60)


def quarantined(dataset: int, source: int, item: int, *, blocking: bool = False) -> RowsQuarantined:
    return RowsQuarantined(
        dataset_id=dataset,
        data_source_id=source,
        stored_item_id=item,
        counts={"type_mismatch": 7, "required_missing": 2},
        sample_reasons=["row 3: `age` is not an integer", "row 9: `email` is required"],
        blocking=blocking,
    )


def failed(dataset: int, source: int, item: int, reason: str | None) -> FileIngested:
    return FileIngested(
        dataset_id=dataset,
        data_source_id=source,
        stored_item_id=item,
        status="failed",
        rows_read=0,
        fatal_error=reason,
        started_at=T0,
        ended_at=T0 + timedelta(seconds=3),
    )


async def of_dataset(container: Container, dataset: int, *, muted: bool) -> list[Alert]:
    page = await alerts.list_alerts(
        container.uow_factory(),
        filters=AlertFilter(dataset_id=dataset, is_muted=muted),
        cursor=Cursor(limit=100),
    )
    return page.results


async def errors_of(container: Container, module: str = "ingestion") -> list[FatalError]:
    page = await fatal_errors.list_fatal_errors(
        container.uow_factory(), filters=FatalErrorFilter(module=module), cursor=Cursor(limit=1000)
    )
    return page.results


async def test_ordinary_bad_rows_raise_muted_alerts_per_alert_type(container: Container) -> None:
    dataset, source, item = new_id(), new_id(), new_id()
    outcome = await alert_on_ingestion(container.uow_factory(), [quarantined(dataset, source, item)])
    assert (outcome.alerts_raised, outcome.fatal_errors) == (2, 0)

    assert await of_dataset(container, dataset, muted=False) == []  # nothing pops up
    raised = sorted(await of_dataset(container, dataset, muted=True), key=lambda a: a.alert_type)
    assert [(a.alert_type, a.count, a.severity) for a in raised] == [
        ("required_missing", 2, "warning"),
        ("type_mismatch", 7, "warning"),
    ]
    for a in raised:
        assert (a.dataset_id, a.data_source_id, a.stored_item_id) == (dataset, source, item)
        assert (a.is_muted, a.blocks_stored_item, a.resolved) == (True, False, False)
        assert a.body["sample_reasons"] == [
            "row 3: `age` is not an integer",
            "row 9: `email` is required",
        ]
        assert str(item) in a.msg
    # the data source filter finds them too
    by_source = await alerts.list_alerts(
        container.uow_factory(), filters=AlertFilter(data_source_id=source, is_muted=True)
    )
    assert {a.id for a in by_source.results} == {a.id for a in raised}


async def test_a_blocking_quarantine_raises_visible_blocking_alerts(container: Container) -> None:
    dataset, source, item = new_id(), new_id(), new_id()
    await alert_on_ingestion(container.uow_factory(), [quarantined(dataset, source, item, blocking=True)])
    assert await of_dataset(container, dataset, muted=True) == []
    raised = await of_dataset(container, dataset, muted=False)
    assert sorted((a.alert_type, a.severity, a.blocks_stored_item) for a in raised) == [
        ("required_missing", "critical", True),
        ("type_mismatch", "critical", True),
    ]
    assert all("not loaded" in a.msg for a in raised)


async def test_a_failed_file_raises_an_alert_and_a_fatal_error(container: Container) -> None:
    dataset, source, item = new_id(), new_id(), new_id()
    reason = "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0"
    outcome = await alert_on_ingestion(container.uow_factory(), [failed(dataset, source, item, reason)])
    assert (outcome.alerts_raised, outcome.fatal_errors) == (1, 1)

    (alert,) = await of_dataset(container, dataset, muted=False)
    assert (alert.alert_type, alert.severity, alert.blocks_stored_item) == (
        "ingestion_failed",
        "critical",
        True,
    )
    assert (alert.data_source_id, alert.stored_item_id) == (source, item)
    assert alert.body["fatal_error"] == reason
    (error,) = [e for e in await errors_of(container) if e.stored_item_id == item]
    assert (error.module, error.error, error.msg) == ("ingestion", "UnicodeDecodeError", reason)
    assert (error.job_name, error.job_type) == ("ingestion", "job")
    assert (error.data_source_id, error.dataset_id, error.alert_item_id) == (source, dataset, alert.id)
    assert (error.count, error.deleted) == (1, False)
    assert error.meta_data["started_at"] == T0.isoformat()


async def test_a_failure_without_an_error_class_or_a_reason_is_still_reported(container: Container) -> None:
    dataset, source = new_id(), new_id()
    first, second = new_id(), new_id()
    await alert_on_ingestion(
        container.uow_factory(),
        [
            failed(dataset, source, first, "the file is empty \x00 here"),
            failed(dataset, source, second, None),
        ],
    )
    reported = {e.stored_item_id: e for e in await errors_of(container) if e.dataset_id == dataset}
    assert reported[first].error == "IngestionFailed"
    assert reported[first].msg == "the file is empty \ufffd here"  # Postgres stores no NUL
    assert (reported[second].error, reported[second].msg) == (
        "IngestionFailed",
        "ingestion failed without a reason",
    )


async def test_an_ok_file_raises_nothing(container: Container) -> None:
    dataset = new_id()
    ok = msgspec.structs.replace(
        failed(dataset, new_id(), new_id(), None), status="ok", rows_read=5, rows_loaded=5
    )
    outcome = await alert_on_ingestion(container.uow_factory(), [ok])
    assert (outcome.alerts_raised, outcome.fatal_errors) == (0, 0)
    assert await of_dataset(container, dataset, muted=False) == []


async def test_redelivery_creates_nothing_twice(container: Container) -> None:
    dataset, source, item = new_id(), new_id(), new_id()
    events = [quarantined(dataset, source, item), failed(dataset, source, item, "KeyError: 'id'")]
    await alert_on_ingestion(container.uow_factory(), events)
    again = await alert_on_ingestion(container.uow_factory(), events)  # the same events (same ids)
    assert (again.alerts_raised, again.fatal_errors) == (0, 0)
    assert len(await of_dataset(container, dataset, muted=True)) == 2
    assert len(await of_dataset(container, dataset, muted=False)) == 1
    (error,) = [e for e in await errors_of(container) if e.stored_item_id == item]
    assert error.count == 1

    # The same file reported again in new events (a re-run): still one alert per type; the failure counts.
    rerun = [quarantined(dataset, source, item), failed(dataset, source, item, "KeyError: 'id'")]
    outcome = await alert_on_ingestion(container.uow_factory(), rerun)
    assert outcome.alerts_raised == 0
    (error,) = [e for e in await errors_of(container) if e.stored_item_id == item]
    assert error.count == 2


async def test_the_subscriber_consumes_both_topics_once(stack: Stack, container: Container) -> None:
    prefix = f"p{uuid.uuid4().hex[:10]}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=1)
    settings = msgspec.structs.replace(
        container.settings, topic_prefix=prefix, consumer_group=f"{prefix}quality-alerting"
    )
    dataset, source, item = new_id(), new_id(), new_id()
    rows = quarantined(dataset, source, item, blocking=True)
    file = failed(dataset, source, item, "ValueError: bad header")
    for _ in range(2):  # the second time round is a redelivery: the same events again
        await produce(stack.kafka_bootstrap, f"{prefix}rows.quarantined", [(rows.key, encode_event(rows))])
        await produce(stack.kafka_bootstrap, f"{prefix}file.ingested", [(file.key, encode_event(file))])
    broker = create_broker(settings, service="quality-alerting-test")
    producer = create_producer(settings, service="quality-alerting-test")
    await producer.start()
    register_subscribers(broker, settings=settings, uow_factory=container.uow_factory, producer=producer)
    await broker.start()
    try:

        async def consumed() -> list[Alert]:
            raised = await of_dataset(container, dataset, muted=False)
            assert len(raised) == 3
            return raised

        raised = await eventually(consumed, timeout=60)
        assert sorted(a.alert_type for a in raised) == [
            "ingestion_failed",
            "required_missing",
            "type_mismatch",
        ]

        async def inbox_has_all() -> None:
            async with container.engine.connect() as conn:
                seen = (
                    await conn.execute(
                        text("SELECT count(*) FROM inbox WHERE message_id = ANY(:ids)"),
                        {"ids": [str(rows.event_id), str(file.event_id)]},
                    )
                ).scalar_one()
            assert seen == 2

        await eventually(inbox_has_all, timeout=60)
    finally:
        await broker.stop()
        await producer.stop()
    assert len(await of_dataset(container, dataset, muted=False)) == 3
    (error,) = [e for e in await errors_of(container) if e.stored_item_id == item]
    assert (error.error, error.count) == ("ValueError", 1)

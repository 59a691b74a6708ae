"""`checks.requested` through FastStream's in-memory broker into the real checks on the real Postgres: a stale
pipeline and a late execution alert once, however often the request is delivered."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy import text

from headwater.common.events import ChecksRequested, encode_event
from headwater.quality_alerting.bootstrap import Container
from headwater.quality_alerting.entrypoints.messaging.check_subscribers import register_check_subscribers

pytestmark = pytest.mark.integration


class NoProducer:
    """Nothing may be dead-lettered in these tests."""

    async def send(self, *args: object, **kwargs: object) -> object:
        raise AssertionError(f"unexpected dead letter: {args} {kwargs}")


async def test_requested_checks_alert_once_across_redeliveries(container: Container) -> None:
    now = datetime(2300, 1, 1, tzinfo=UTC) + timedelta(minutes=secrets.randbelow(60 * 24 * 365 * 90))
    pipeline_id, execution_id = secrets.randbelow(2**62) + 1, secrets.randbelow(2**62) + 1
    async with container.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO pipeline_settings (pipeline_id, name, pipeline_type_id, pipeline_type_name, "
                "freshness_number, freshness_datepart, timeliness_number, timeliness_datepart, last_dml_at, as_of) "
                "VALUES (:id, 'subscribed', 1, 't', 1, 'day', 10, 'minute', :dml, now())"
            ),
            {"id": pipeline_id, "dml": now - timedelta(days=2)},
        )
        await conn.execute(
            text(
                "INSERT INTO execution_metric (execution_id, pipeline_id, start_date, hour_recorded, day_of_week) "
                "VALUES (:id, :pipeline_id, :start, 0, 1)"
            ),
            {"id": execution_id, "pipeline_id": pipeline_id, "start": now - timedelta(minutes=30)},
        )
    broker = KafkaBroker()
    register_check_subscribers(
        broker,
        settings=container.settings,
        uow_factory=container.uow_factory,
        producer=NoProducer(),  # type: ignore[arg-type]
        clock=lambda: now,
    )
    freshness = encode_event(ChecksRequested(check="freshness", schedule="freshness"))
    timeliness = encode_event(ChecksRequested(check="timeliness", lookback_minutes=45))
    async with TestKafkaBroker(broker) as br:
        for body in (freshness, timeliness, freshness, timeliness):  # the same requests, delivered twice
            await br.publish(body, topic=f"{container.settings.topic_prefix}checks.requested")

    async with container.engine.connect() as conn:
        alerts = (
            await conn.execute(
                text(
                    "SELECT alert_type, execution_id FROM alert WHERE pipeline_id = :id ORDER BY alert_type"
                ),
                {"id": pipeline_id},
            )
        ).all()
        raised = await conn.scalar(
            text(
                "SELECT count(*) FROM outbox WHERE topic = 'alert.raised' AND key IN "
                "(SELECT id::text FROM alert WHERE pipeline_id = :id)"
            ),
            {"id": pipeline_id},
        )
    assert [tuple(a) for a in alerts] == [("freshness", None), ("timeliness", execution_id)]
    assert raised == 2

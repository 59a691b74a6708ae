"""Golden-JSON contract tests: the wire form of every event is fixed, and old messages still decode.

A failing test here means a change broke consumers. Add fields with defaults only; for anything else publish a
new major version beside the old one. To record a new event's golden file, run with HEADWATER_UPDATE_GOLDEN=1
and review the file by hand.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import msgspec
import pytest

from headwater.common.events import (
    AlertRaised,
    AlertResolved,
    AnomalousMetric,
    AnomalyCleared,
    AnomalyDetected,
    ChecksRequested,
    Event,
    ExecutionEnded,
    ExecutionStarted,
    FileIngested,
    FileStored,
    JobChanged,
    JobRunRequested,
    LineageAddress,
    LineageChanged,
    LineageEdge,
    PipelineChanged,
    PipelineSlo,
    RetentionRequested,
    RowsQuarantined,
    RunEnded,
    RunStarted,
    decode_event,
    decode_run_report,
    encode_event,
)

GOLDEN = Path(__file__).parent / "golden"
EVENT_ID = uuid.UUID("0192f4a8-7c00-7000-8000-000000000001")
AT = datetime(2024, 1, 1, 10, 5, tzinfo=UTC)
SLO = PipelineSlo(
    freshness_number=24, freshness_datepart="hour", timeliness_number=2, timeliness_datepart="hour"
)

SAMPLES: dict[str, Event] = {
    "pipeline.changed.v1": PipelineChanged(
        event_id=EVENT_ID,
        occurred_at=AT,
        pipeline_id=1,
        name="my data pipeline",
        pipeline_type_id=1,
        pipeline_type_name="extraction",
        active=True,
        load_lineage=True,
        watermark="2024-01-01T00:00:00Z",
        next_watermark="2024-01-02T00:00:00Z",
        pipeline_metadata={"environment": "production"},
        slo=SLO,
    ),
    "execution.started.v1": ExecutionStarted(
        event_id=EVENT_ID,
        occurred_at=AT,
        execution_id=7,
        pipeline_id=1,
        pipeline_name="my data pipeline",
        parent_id=None,
        run_id="airflow-run-42",
        start_date=datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
        hour_recorded=10,
        date_recorded=date(2024, 1, 1),
        watermark="2024-01-01T00:00:00Z",
        next_watermark="2024-01-02T00:00:00Z",
    ),
    "execution.ended.v1": ExecutionEnded(
        event_id=EVENT_ID,
        occurred_at=AT,
        execution_id=7,
        pipeline_id=1,
        pipeline_name="my data pipeline",
        pipeline_type_id=1,
        start_date=datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 10, 5, tzinfo=UTC),
        hour_recorded=10,
        date_recorded=date(2024, 1, 1),
        completed_successfully=True,
        duration_seconds=300,
        throughput=3.3333,
        total_rows=1000,
        inserts=800,
        updates=200,
        soft_deletes=0,
        slo=SLO,
    ),
    "lineage.changed.v1": LineageChanged(
        event_id=EVENT_ID,
        occurred_at=AT,
        pipeline_id=1,
        pipeline_name="my data pipeline",
        origin="watcher",
        addresses=[
            LineageAddress(
                id=10,
                name="sales.dbo.orders",
                address_type_name="sqlserver",
                address_type_group_name="database",
            ),
            LineageAddress(
                id=11,
                name="warehouse.public.fact_orders",
                address_type_name="postgres",
                address_type_group_name="database",
            ),
        ],
        edges=[LineageEdge(source_address_id=10, target_address_id=11)],
        added=[LineageEdge(source_address_id=10, target_address_id=11)],
        removed=[],
    ),
    "anomaly.detected.v1": AnomalyDetected(
        event_id=EVENT_ID,
        occurred_at=AT,
        pipeline_id=1,
        pipeline_name="my data pipeline",
        execution_id=7,
        metrics=[
            AnomalousMetric(
                metric_field="total_rows",
                value=25000.0,
                mean=1000.0,
                stddev=12.5,
                z_score=1920.0,
                z_threshold=3.0,
                threshold_min=962.5,
                threshold_max=1037.5,
                baseline_count=30,
            )
        ],
    ),
    "anomaly.cleared.v1": AnomalyCleared(
        event_id=EVENT_ID, occurred_at=AT, pipeline_id=1, execution_id=7, metric_fields=["total_rows"]
    ),
    "alert.raised.v1": AlertRaised(
        event_id=EVENT_ID,
        occurred_at=AT,
        alert_id=42,
        alert_type="freshness",
        severity="warning",
        pipeline_id=1,
        pipeline_name="my data pipeline",
        msg="Pipeline 'my data pipeline' is stale: last DML 2024-01-01T00:00:00Z, due by 2024-01-02T00:00:00Z",
        details={"last_dml_at": "2024-01-01T00:00:00Z", "freshness_number": 1, "freshness_datepart": "day"},
        created_at=AT,
    ),
    "alert.resolved.v1": AlertResolved(
        event_id=EVENT_ID,
        occurred_at=AT,
        alert_id=42,
        alert_type="freshness",
        pipeline_id=1,
        action="mark_data_as_valid",
        resolved_at=AT,
    ),
    "checks.requested.v1": ChecksRequested(
        event_id=EVENT_ID,
        occurred_at=AT,
        check="timeliness",
        lookback_minutes=60,
        schedule="timeliness",
        due_at=datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
    ),
    "retention.requested.v1": RetentionRequested(
        event_id=EVENT_ID,
        occurred_at=AT,
        retention_days=90,
        batch_size=10000,
        cutoff=datetime(2023, 10, 3, 3, 30, tzinfo=UTC),
        schedule="retention",
    ),
    "file.stored.v1": FileStored(
        event_id=EVENT_ID,
        occurred_at=AT,
        stored_item_id=5,
        dataset_id=3,
        data_source_id=9,
        object_key="datasets/3/data-sources/9/2024/01/01/0192f4a8-orders.csv",
        size=52431,
        sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        content_type="text/csv",
        file_name="orders.csv",
        stored_at=AT,
    ),
    "file.ingested.v1": FileIngested(
        event_id=EVENT_ID,
        occurred_at=AT,
        stored_item_id=5,
        dataset_id=3,
        data_source_id=9,
        status="ok",
        rows_read=1000,
        rows_loaded=990,
        rows_quarantined=8,
        rows_ignored=2,
        fatal_error=None,
        started_at=datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
        ended_at=AT,
    ),
    "rows.quarantined.v1": RowsQuarantined(
        event_id=EVENT_ID,
        occurred_at=AT,
        dataset_id=3,
        data_source_id=9,
        stored_item_id=5,
        counts={"type_mismatch": 6, "required_missing": 2},
        sample_reasons=["line 14: amount 'abc' is not a number", "line 20: customer_id is required"],
        blocking=False,
    ),
    "job.changed.v1": JobChanged(
        event_id=EVENT_ID,
        occurred_at=AT,
        job="sensor-9",
        kind="sensor",
        version=2,
        cron="*/5 * * * *",
        enabled=True,
        removed=False,
        data_source_id=9,
    ),
    "job.run.requested.v1": JobRunRequested(
        event_id=EVENT_ID,
        occurred_at=AT,
        job="sensor-9",
        kind="sensor",
        data_source_id=9,
        due_at=datetime(2024, 1, 1, 10, 5, tzinfo=UTC),
        schedule="sensor-9",
    ),
}

REPORTS = {
    "run.started.v1": RunStarted(
        run_id="airflow-run-42",
        pipeline_name="my data pipeline",
        pipeline_type_name="extraction",
        start_date=datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
        next_watermark="2024-01-02",
    ),
    "run.ended.v1": RunEnded(
        run_id="airflow-run-42",
        pipeline_name="my data pipeline",
        end_date=datetime(2024, 1, 1, 10, 5, tzinfo=UTC),
        completed_successfully=True,
        total_rows=1000,
    ),
}


def _golden(name: str, data: bytes) -> bytes:
    path = GOLDEN / f"{name}.json"
    pretty = msgspec.json.format(data, indent=2) + b"\n"
    if os.environ.get("HEADWATER_UPDATE_GOLDEN") == "1":
        path.write_bytes(pretty)
    assert path.exists(), f"no golden file {path.name}: record it with HEADWATER_UPDATE_GOLDEN=1"

    return path.read_bytes()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_event_wire_form_is_unchanged(name: str) -> None:
    event = SAMPLES[name]
    assert event.event_type == name
    encoded = encode_event(event)
    assert msgspec.json.decode(_golden(name, encoded)) == msgspec.json.decode(encoded)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_message_still_decodes(name: str) -> None:
    event = SAMPLES[name]
    decoded = decode_event((GOLDEN / f"{name}.json").read_bytes(), type(event))
    assert decoded == event


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_run_report_wire_form_is_unchanged(name: str) -> None:
    encoded = msgspec.json.encode(REPORTS[name])
    golden = _golden(name, encoded)
    assert msgspec.json.decode(golden) == msgspec.json.decode(encoded)
    assert decode_run_report(golden) == REPORTS[name]


# the Kafka keys of events that are not about one pipeline
KEYS = {
    "checks.requested.v1": b"timeliness",
    "retention.requested.v1": b"retention",
    "alert.raised.v1": b"42",
    "alert.resolved.v1": b"42",
    "file.stored.v1": b"3",
    "file.ingested.v1": b"3",
    "rows.quarantined.v1": b"3",
    "job.changed.v1": b"sensor-9",
    "job.run.requested.v1": b"sensor-9",
}


def test_event_keys_are_pipeline_ids_unless_the_aggregate_is_another() -> None:
    for name, event in SAMPLES.items():
        assert event.key == KEYS.get(name, b"1"), name
        assert event.topic == event.event_type.rsplit(".", 1)[0]


def test_minimal_run_report_decodes_with_defaults() -> None:
    report = decode_run_report(b'{"type": "run.started.v1", "run_id": "r1", "pipeline_id": 3}')
    assert report == RunStarted(run_id="r1", pipeline_id=3)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"type": "run.started.v1", "run_id": "r1"}', "pipeline_id"),
        (b'{"type": "run.exploded.v1", "run_id": "r1", "pipeline_id": 1}', "Invalid value 'run.exploded.v1'"),
        (b'{"type": "run.ended.v1", "run_id": "r1", "pipeline_id": 1}', "end_date"),
        (
            b'{"type": "run.ended.v1", "run_id": "r1", "pipeline_id": 1, "end_date": "2024-01-01T00:00:00Z",'
            b' "completed_successfully": true, "total_rows": -1}',
            "total_rows",
        ),
        (b"not json", "malformed"),
        # what Postgres cannot store is refused here, so it is dead-lettered instead of failing a batch
        (b'{"type": "run.started.v1", "run_id": "r1", "pipeline_name": " "}', "pipeline_name"),
        (b'{"type": "run.started.v1", "run_id": "r\\u0000", "pipeline_id": 1}', "run_id"),
        (
            b'{"type": "run.ended.v1", "run_id": "r1", "pipeline_id": 1, "end_date": "2024-01-01T00:00:00Z",'
            b' "completed_successfully": true, "execution_metadata": {"a": ["\\u0000"]}}',
            "execution_metadata.a[0]",
        ),
        # msgspec raises UnicodeDecodeError for bytes that are not UTF-8 inside a string: a DecodeError here
        (b'{"type": "run.started.v1", "run_id": "\xed\xb2\xbf", "pipeline_id": 1}', "not valid UTF-8"),
    ],
)
def test_invalid_run_reports_say_why(payload: bytes, reason: str) -> None:
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)) as info:
        decode_run_report(payload)
    assert reason.lower() in str(info.value).lower()


def test_committed_asyncapi_document_matches_the_contracts() -> None:
    from headwater.common.events import asyncapi

    committed = Path(__file__).parents[4] / "docs" / "asyncapi.json"
    assert committed.read_bytes() == asyncapi.render(), (
        "docs/asyncapi.json is stale: run `uv run python -m headwater.common.events.asyncapi > docs/asyncapi.json`"
    )

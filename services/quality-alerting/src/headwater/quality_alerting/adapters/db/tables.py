"""Tables of the `quality_alerting` schema.

quality-alerting keeps its own copies of what it checks (pipeline settings from `pipeline.changed`, execution
metrics from `execution.started` / `execution.ended`), so every check is set-based SQL on its own schema and
never a call to execution-tracking.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import SchemaItem

from headwater.common.db import columns, schema_metadata
from headwater.common.messaging.tables import inbox_table, outbox_quarantine_table, outbox_table
from headwater.quality_alerting import SCHEMA

metadata = schema_metadata(SCHEMA)

SEVERITIES = "('info', 'warning', 'critical')"
METRICS = "('duration_seconds', 'inserts', 'updates', 'soft_deletes', 'total_rows', 'throughput')"


# -- copies of execution-tracking's facts ----------------------------------------------------------------------

pipeline_settings = Table(
    "pipeline_settings",
    metadata,
    Column("pipeline_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(500), nullable=False),
    Column("pipeline_type_id", BigInteger, nullable=False),
    Column("pipeline_type_name", String(150), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    *columns.check_settings("freshness"),
    *columns.check_settings("timeliness"),
    # The latest of the pipeline's last_target_insert/update/soft_delete: what freshness compares.
    Column("last_dml_at", DateTime(timezone=True)),
    # When the fact this row reflects happened: an older event never overwrites a newer one.
    Column("as_of", DateTime(timezone=True), nullable=False),
    CheckConstraint(f"freshness_datepart IN {columns.DATEPARTS}", name="freshness_datepart"),
    CheckConstraint(f"timeliness_datepart IN {columns.DATEPARTS}", name="timeliness_datepart"),
    # Freshness scans only pipelines that can be stale.
    Index(
        "ix_pipeline_settings_freshness_due",
        "last_dml_at",
        postgresql_where=text(
            "last_dml_at IS NOT NULL AND freshness_number IS NOT NULL AND NOT mute_freshness_check"
        ),
    ),
)

execution_metric = Table(
    "execution_metric",
    metadata,
    Column("execution_id", BigInteger, primary_key=True, autoincrement=False),
    Column("pipeline_id", BigInteger, nullable=False),
    Column("start_date", DateTime(timezone=True), nullable=False),
    Column("end_date", DateTime(timezone=True)),
    Column("hour_recorded", SmallInteger, nullable=False),
    Column("day_of_week", SmallInteger, nullable=False),  # ISO 1 (Monday) .. 7 of start_date in UTC
    Column("completed_successfully", Boolean),  # null while running
    Column("duration_seconds", BigInteger),
    *columns.row_counts(),
    Column("throughput", Float),
    # The baseline of a rule: successful runs of one pipeline at one hour, by end date.
    Index(
        "ix_execution_metric_baseline",
        "pipeline_id",
        "hour_recorded",
        "end_date",
        postgresql_where=text("completed_successfully"),
    ),
    # Timeliness: runs started within the lookback.
    Index("ix_execution_metric_start_date", "start_date"),
    # Retention.
    Index("ix_execution_metric_end_date", "end_date"),
)

# -- anomaly detection -------------------------------------------------------------------------------------------

anomaly_rule = Table(
    "anomaly_rule",
    metadata,
    columns.identity_key(),
    Column("pipeline_id", BigInteger, nullable=False),
    Column("metric_field", String(30), nullable=False),
    Column("z_threshold", Float, nullable=False, server_default=text("3.0")),
    Column("lookback_days", Integer, nullable=False, server_default=text("30")),
    Column("minimum_executions", Integer, nullable=False, server_default=text("30")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # Beyond the reference: `hour` (same UTC start hour) or `hour_of_week` (same hour and day of week).
    Column("seasonality", String(20), nullable=False, server_default=text("'hour'")),
    # `both`, `spike` (only values above the range) or `drop` (only values below it).
    Column("direction", String(10), nullable=False, server_default=text("'both'")),
    *columns.timestamps(),
    UniqueConstraint("pipeline_id", "metric_field"),
    CheckConstraint(f"metric_field IN {METRICS}", name="metric_field"),
    CheckConstraint("z_threshold BETWEEN 1 AND 10", name="z_threshold"),
    CheckConstraint("lookback_days BETWEEN 1 AND 365", name="lookback_days"),
    CheckConstraint("minimum_executions BETWEEN 5 AND 1000", name="minimum_executions"),
    CheckConstraint("seasonality IN ('hour', 'hour_of_week')", name="seasonality"),
    CheckConstraint("direction IN ('both', 'spike', 'drop')", name="direction"),
)

anomaly_result = Table(
    "anomaly_result",
    metadata,
    columns.identity_key(),
    columns.reference("rule_id", "anomaly_rule.id", ondelete="CASCADE"),
    Column("pipeline_id", BigInteger, nullable=False),
    Column("execution_id", BigInteger, nullable=False),
    Column("metric_field", String(30), nullable=False),
    Column("value", Float, nullable=False),
    Column("mean", Float, nullable=False),
    Column("stddev", Float, nullable=False),
    Column("z_score", Float, nullable=False),
    Column("z_threshold", Float, nullable=False),
    Column("threshold_min", Float, nullable=False),
    Column("threshold_max", Float, nullable=False),
    Column("context", JSONB, nullable=False),
    columns.created_at("detected_at"),
    UniqueConstraint("execution_id", "metric_field"),
    Index("ix_anomaly_result_rule_id", "rule_id"),
    Index("ix_anomaly_result_detected_at", "detected_at"),
)

# -- freshness and timeliness ---------------------------------------------------------------------------------


def _check_log(check: str, *facts: SchemaItem) -> Table:
    """Where the `freshness` or `timeliness` check records what it found overdue, once each: the facts it judged,
    when they were due (by the interval then allowed) and when it looked."""
    return Table(
        f"{check}_log",
        metadata,
        columns.identity_key(),
        Column("pipeline_id", BigInteger, nullable=False),
        *facts,
        Column("due_at", DateTime(timezone=True), nullable=False),
        Column(f"{check}_number", Integer, nullable=False),
        Column(f"{check}_datepart", String(10), nullable=False),
        columns.created_at("checked_at"),
        Index(f"ix_{check}_log_checked_at", "checked_at"),
    )


# A stale pipeline, logged and alerted once per DML timestamp (due: last DML + the allowed interval).
freshness_log = _check_log(
    "freshness",
    Column("last_dml_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("pipeline_id", "last_dml_at"),
)

# A late execution, logged and alerted once (due: its start + the allowed interval).
timeliness_log = _check_log(
    "timeliness",
    Column("execution_id", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),  # `running` or `succeeded` when found late
    Column("start_date", DateTime(timezone=True), nullable=False),
    Column("end_date", DateTime(timezone=True)),
    UniqueConstraint("execution_id"),
)

# -- alerts and notifications ---------------------------------------------------------------------------------

alert = Table(
    "alert",
    metadata,
    columns.identity_key(),
    Column("alert_type", String(40), nullable=False),  # anomaly | freshness | timeliness | queue_backlog
    Column("severity", String(10), nullable=False),  # info | warning | critical
    Column("pipeline_id", BigInteger),
    Column("pipeline_name", String(500)),
    Column("pipeline_type_id", BigInteger),
    Column("execution_id", BigInteger),
    # The data source the alert is about (Qluster's `data_source_model_id`); null for pipeline alerts, which
    # a `limited_to_source` principal therefore never sees.
    Column("data_source_id", BigInteger),
    # Ingestion alerts: the dataset and the stored file they are about, how many rows they stand for, and
    # whether the file was held back because of them.
    Column("dataset_id", BigInteger),
    Column("stored_item_id", BigInteger),
    Column("count", Integer, nullable=False, server_default=text("1")),
    Column("blocks_stored_item", Boolean, nullable=False, server_default=text("false")),
    Column("msg", Text, nullable=False),
    Column("body", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # One alert per occurrence (e.g. `freshness:<pipeline>:<dml time>`): a repeated check raises nothing new.
    Column("dedup_key", String(300), nullable=False),
    # The condition behind it (e.g. `freshness:<pipeline>`): a channel's suppression window is per condition.
    Column("condition_key", String(300), nullable=False),
    Column("resolved", Boolean, nullable=False, server_default=text("false")),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolve_action", String(60)),
    Column("is_muted", Boolean, nullable=False, server_default=text("false")),
    columns.created_at(),
    UniqueConstraint("dedup_key"),
    CheckConstraint(f"severity IN {SEVERITIES}", name="severity"),
    Index("ix_alert_resolved_is_muted_id", "resolved", "is_muted", "id"),
    Index("ix_alert_pipeline_id_id", "pipeline_id", "id"),
    Index("ix_alert_data_source_id_id", "data_source_id", "id"),
    Index("ix_alert_dataset_id_id", "dataset_id", "id"),
    Index("ix_alert_created_at", "created_at"),
)

# Qluster's fatal errors: what stopped a job (e.g. a file's ingestion) outright. Reports of the same error
# (same `fingerprint`: module, error, job and what it concerns) add to the `count` of the one not deleted.
fatal_error = Table(
    "fatal_error",
    metadata,
    columns.identity_key(),
    Column("job_name", String(253)),
    Column("job_type", String(10)),  # job | cronjob
    Column("error", String(300), nullable=False),
    Column("module", String(100), nullable=False),
    Column("msg", Text, nullable=False),
    Column("stack_trace", Text, nullable=False, server_default=text("''")),
    Column("data_source_id", BigInteger),  # Qluster's `data_source_model_id`
    Column("settings_model_id", BigInteger),
    Column("dataset_id", BigInteger),
    Column("stored_item_id", BigInteger),
    Column("alert_item_id", BigInteger),
    Column("meta_data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("fingerprint", String(64), nullable=False),
    Column("count", Integer, nullable=False, server_default=text("1")),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("deleted_at", DateTime(timezone=True)),
    columns.created_at(),
    CheckConstraint("job_type IN ('job', 'cronjob')", name="job_type"),
    Index(
        "uq_fatal_error_fingerprint_open", "fingerprint", unique=True, postgresql_where=text("NOT deleted")
    ),
    Index("ix_fatal_error_deleted_id", "deleted", "id"),
    Index("ix_fatal_error_data_source_id_id", "data_source_id", "id"),
    Index("ix_fatal_error_created_at", "created_at"),
)

notification_channel = Table(
    "notification_channel",
    metadata,
    columns.identity_key(),
    Column("name", String(150), nullable=False),
    Column("kind", String(10), nullable=False),  # slack | webhook
    Column("url", String(2000), nullable=False),
    Column("secret", String(500)),  # webhook: the HMAC-SHA256 key; never returned by the API
    Column("scope", String(20), nullable=False, server_default=text("'global'")),
    Column("pipeline_type_id", BigInteger),
    Column("pipeline_id", BigInteger),
    Column("min_severity", String(10), nullable=False, server_default=text("'info'")),
    Column("suppression_minutes", Integer, nullable=False, server_default=text("60")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    *columns.timestamps(),
    UniqueConstraint("name"),
    CheckConstraint("kind IN ('slack', 'webhook')", name="kind"),
    CheckConstraint("scope IN ('global', 'pipeline_type', 'pipeline')", name="scope"),
    CheckConstraint(f"min_severity IN {SEVERITIES}", name="min_severity"),
    CheckConstraint("suppression_minutes >= 0", name="suppression_minutes"),
)

notification_delivery = Table(
    "notification_delivery",
    metadata,
    columns.identity_key(),
    columns.reference("channel_id", "notification_channel.id", ondelete="CASCADE"),
    columns.reference("alert_id", "alert.id", ondelete="CASCADE"),
    Column("condition_key", String(300), nullable=False),
    Column("status", String(12), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("last_status_code", Integer),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    columns.created_at(),
    UniqueConstraint("channel_id", "alert_id"),  # the same alert is never delivered twice to a channel
    CheckConstraint("status IN ('pending', 'delivered', 'failed', 'suppressed')", name="status"),
    Index("ix_notification_delivery_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    Index("ix_notification_delivery_channel_id_condition_key", "channel_id", "condition_key", "created_at"),
    Index("ix_notification_delivery_alert_id", "alert_id"),
)

outbox = outbox_table(metadata)
outbox_quarantine = outbox_quarantine_table(metadata)
inbox = inbox_table(metadata)

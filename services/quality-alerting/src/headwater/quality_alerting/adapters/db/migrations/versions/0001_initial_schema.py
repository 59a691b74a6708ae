"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:52:49.932192
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.db import columns
from headwater.common.messaging.tables import create_outbox_and_inbox, drop_outbox_and_inbox
from headwater.quality_alerting import SCHEMA

revision: str = "0001"
down_revision: str | None = None

SEVERITIES = "('info', 'warning', 'critical')"
METRICS = "('duration_seconds', 'inserts', 'updates', 'soft_deletes', 'total_rows', 'throughput')"


def upgrade() -> None:
    create_outbox_and_inbox(SCHEMA)
    op.create_table(
        "alert",
        columns.identity_key(),
        sa.Column("alert_type", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("pipeline_name", sa.String(length=500), nullable=True),
        sa.Column("pipeline_type_id", sa.BigInteger(), nullable=True),
        sa.Column("execution_id", sa.BigInteger(), nullable=True),
        sa.Column("msg", sa.Text(), nullable=False),
        sa.Column(
            "body",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("dedup_key", sa.String(length=300), nullable=False, unique=True),
        sa.Column("condition_key", sa.String(length=300), nullable=False),
        sa.Column("resolved", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_action", sa.String(length=60), nullable=True),
        sa.Column("is_muted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        columns.created_at(),
        sa.CheckConstraint(f"severity IN {SEVERITIES}", name="severity"),
        sa.Index("ix_alert_created_at", "created_at"),
        sa.Index("ix_alert_pipeline_id_id", "pipeline_id", "id"),
        sa.Index("ix_alert_resolved_is_muted_id", "resolved", "is_muted", "id"),
        schema=SCHEMA,
    )
    op.create_table(
        "anomaly_rule",
        columns.identity_key(),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("metric_field", sa.String(length=30), nullable=False),
        sa.Column("z_threshold", sa.Float(), server_default=sa.text("3.0"), nullable=False),
        sa.Column("lookback_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("minimum_executions", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("seasonality", sa.String(length=20), server_default=sa.text("'hour'"), nullable=False),
        sa.Column("direction", sa.String(length=10), server_default=sa.text("'both'"), nullable=False),
        *columns.timestamps(),
        sa.CheckConstraint("direction IN ('both', 'spike', 'drop')", name="direction"),
        sa.CheckConstraint(f"metric_field IN {METRICS}", name="metric_field"),
        sa.CheckConstraint("seasonality IN ('hour', 'hour_of_week')", name="seasonality"),
        sa.CheckConstraint("lookback_days BETWEEN 1 AND 365", name="lookback_days"),
        sa.CheckConstraint("minimum_executions BETWEEN 5 AND 1000", name="minimum_executions"),
        sa.CheckConstraint("z_threshold BETWEEN 1 AND 10", name="z_threshold"),
        sa.UniqueConstraint("pipeline_id", "metric_field"),
        schema=SCHEMA,
    )
    op.create_table(
        "execution_metric",
        sa.Column("execution_id", sa.BigInteger(), autoincrement=False, primary_key=True),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hour_recorded", sa.SmallInteger(), nullable=False),
        sa.Column("day_of_week", sa.SmallInteger(), nullable=False),
        sa.Column("completed_successfully", sa.Boolean(), nullable=True),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=True),
        *columns.row_counts(),
        sa.Column("throughput", sa.Float(), nullable=True),
        sa.Index(
            "ix_execution_metric_baseline",
            "pipeline_id",
            "hour_recorded",
            "end_date",
            postgresql_where=sa.text("completed_successfully"),
        ),
        sa.Index("ix_execution_metric_end_date", "end_date"),
        sa.Index("ix_execution_metric_start_date", "start_date"),
        schema=SCHEMA,
    )
    _create_check_log(
        "freshness",
        sa.Column("last_dml_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pipeline_id", "last_dml_at"),
    )
    op.create_table(
        "notification_channel",
        columns.identity_key(),
        sa.Column("name", sa.String(length=150), nullable=False, unique=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=500), nullable=True),
        sa.Column("scope", sa.String(length=20), server_default=sa.text("'global'"), nullable=False),
        sa.Column("pipeline_type_id", sa.BigInteger(), nullable=True),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("min_severity", sa.String(length=10), server_default=sa.text("'info'"), nullable=False),
        sa.Column("suppression_minutes", sa.Integer(), server_default=sa.text("60"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *columns.timestamps(),
        sa.CheckConstraint("kind IN ('slack', 'webhook')", name="kind"),
        sa.CheckConstraint(f"min_severity IN {SEVERITIES}", name="min_severity"),
        sa.CheckConstraint("scope IN ('global', 'pipeline_type', 'pipeline')", name="scope"),
        sa.CheckConstraint("suppression_minutes >= 0", name="suppression_minutes"),
        schema=SCHEMA,
    )
    op.create_table(
        "pipeline_settings",
        sa.Column("pipeline_id", sa.BigInteger(), autoincrement=False, primary_key=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("pipeline_type_id", sa.BigInteger(), nullable=False),
        sa.Column("pipeline_type_name", sa.String(length=150), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *columns.check_settings("freshness"),
        *columns.check_settings("timeliness"),
        sa.Column("last_dml_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"freshness_datepart IN {columns.DATEPARTS}", name="freshness_datepart"),
        sa.CheckConstraint(f"timeliness_datepart IN {columns.DATEPARTS}", name="timeliness_datepart"),
        sa.Index(
            "ix_pipeline_settings_freshness_due",
            "last_dml_at",
            postgresql_where=sa.text(
                "last_dml_at IS NOT NULL AND freshness_number IS NOT NULL AND NOT mute_freshness_check"
            ),
        ),
        schema=SCHEMA,
    )
    _create_check_log(
        "timeliness",
        sa.Column("execution_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "anomaly_result",
        columns.identity_key(),
        columns.reference("rule_id", f"{SCHEMA}.anomaly_rule.id", ondelete="CASCADE"),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("execution_id", sa.BigInteger(), nullable=False),
        sa.Column("metric_field", sa.String(length=30), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("stddev", sa.Float(), nullable=False),
        sa.Column("z_score", sa.Float(), nullable=False),
        sa.Column("z_threshold", sa.Float(), nullable=False),
        sa.Column("threshold_min", sa.Float(), nullable=False),
        sa.Column("threshold_max", sa.Float(), nullable=False),
        sa.Column("context", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        columns.created_at("detected_at"),
        sa.UniqueConstraint("execution_id", "metric_field"),
        sa.Index("ix_anomaly_result_detected_at", "detected_at"),
        sa.Index("ix_anomaly_result_rule_id", "rule_id"),
        schema=SCHEMA,
    )
    op.create_table(
        "notification_delivery",
        columns.identity_key(),
        columns.reference("channel_id", f"{SCHEMA}.notification_channel.id", ondelete="CASCADE"),
        columns.reference("alert_id", f"{SCHEMA}.alert.id", ondelete="CASCADE"),
        sa.Column("condition_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=12), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        columns.created_at(),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed', 'suppressed')", name="status"),
        sa.UniqueConstraint("channel_id", "alert_id"),
        sa.Index("ix_notification_delivery_alert_id", "alert_id"),
        sa.Index(
            "ix_notification_delivery_channel_id_condition_key", "channel_id", "condition_key", "created_at"
        ),
        sa.Index(
            "ix_notification_delivery_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")
        ),
        schema=SCHEMA,
    )


def _create_check_log(check: str, *facts: sa.Column[Any] | sa.Constraint) -> None:
    """`freshness_log` or `timeliness_log`: the facts the check judged, then the same columns for both."""
    op.create_table(
        f"{check}_log",
        columns.identity_key(),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        *facts,
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(f"{check}_number", sa.Integer(), nullable=False),
        sa.Column(f"{check}_datepart", sa.String(length=10), nullable=False),
        columns.created_at("checked_at"),
        sa.Index(f"ix_{check}_log_checked_at", "checked_at"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    drop_outbox_and_inbox(SCHEMA)
    for table in (
        "notification_delivery",
        "anomaly_result",
        "timeliness_log",
        "pipeline_settings",
        "notification_channel",
        "freshness_log",
        "execution_metric",
        "anomaly_rule",
        "alert",
    ):
        op.drop_table(table, schema=SCHEMA)  # its indexes go with it

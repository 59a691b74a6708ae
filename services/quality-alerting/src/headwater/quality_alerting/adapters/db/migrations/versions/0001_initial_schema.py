"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:52:49.932192
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from headwater.common.messaging.tables import create_outbox_and_inbox, drop_outbox_and_inbox

SCHEMA = "quality_alerting"

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_and_inbox(SCHEMA)
    op.create_table(
        "alert",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
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
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column("condition_key", sa.String(length=300), nullable=False),
        sa.Column("resolved", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolve_action", sa.String(length=60), nullable=True),
        sa.Column("is_muted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f("ck_alert_severity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_alert_dedup_key")),
        schema="quality_alerting",
    )
    op.create_index("ix_alert_created_at", "alert", ["created_at"], unique=False, schema="quality_alerting")
    op.create_index(
        "ix_alert_pipeline_id_id", "alert", ["pipeline_id", "id"], unique=False, schema="quality_alerting"
    )
    op.create_index(
        "ix_alert_resolved_is_muted_id",
        "alert",
        ["resolved", "is_muted", "id"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_table(
        "anomaly_rule",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("metric_field", sa.String(length=30), nullable=False),
        sa.Column("z_threshold", sa.Float(), server_default=sa.text("3.0"), nullable=False),
        sa.Column("lookback_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("minimum_executions", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("seasonality", sa.String(length=20), server_default=sa.text("'hour'"), nullable=False),
        sa.Column("direction", sa.String(length=10), server_default=sa.text("'both'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("direction IN ('both', 'spike', 'drop')", name=op.f("ck_anomaly_rule_direction")),
        sa.CheckConstraint(
            "metric_field IN ('duration_seconds', 'inserts', 'updates', 'soft_deletes', 'total_rows', 'throughput')",
            name=op.f("ck_anomaly_rule_metric_field"),
        ),
        sa.CheckConstraint(
            "seasonality IN ('hour', 'hour_of_week')", name=op.f("ck_anomaly_rule_seasonality")
        ),
        sa.CheckConstraint("lookback_days BETWEEN 1 AND 365", name=op.f("ck_anomaly_rule_lookback_days")),
        sa.CheckConstraint(
            "minimum_executions BETWEEN 5 AND 1000", name=op.f("ck_anomaly_rule_minimum_executions")
        ),
        sa.CheckConstraint("z_threshold BETWEEN 1 AND 10", name=op.f("ck_anomaly_rule_z_threshold")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_rule")),
        sa.UniqueConstraint(
            "pipeline_id", "metric_field", name=op.f("uq_anomaly_rule_pipeline_id_metric_field")
        ),
        schema="quality_alerting",
    )
    op.create_table(
        "execution_metric",
        sa.Column("execution_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hour_recorded", sa.SmallInteger(), nullable=False),
        sa.Column("day_of_week", sa.SmallInteger(), nullable=False),
        sa.Column("completed_successfully", sa.Boolean(), nullable=True),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=True),
        sa.Column("inserts", sa.BigInteger(), nullable=True),
        sa.Column("updates", sa.BigInteger(), nullable=True),
        sa.Column("soft_deletes", sa.BigInteger(), nullable=True),
        sa.Column("total_rows", sa.BigInteger(), nullable=True),
        sa.Column("throughput", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("execution_id", name=op.f("pk_execution_metric")),
        schema="quality_alerting",
    )
    op.create_index(
        "ix_execution_metric_baseline",
        "execution_metric",
        ["pipeline_id", "hour_recorded", "end_date"],
        unique=False,
        schema="quality_alerting",
        postgresql_where=sa.text("completed_successfully"),
    )
    op.create_index(
        "ix_execution_metric_end_date",
        "execution_metric",
        ["end_date"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_index(
        "ix_execution_metric_start_date",
        "execution_metric",
        ["start_date"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_table(
        "freshness_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("last_dml_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("freshness_number", sa.Integer(), nullable=False),
        sa.Column("freshness_datepart", sa.String(length=10), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_freshness_log")),
        sa.UniqueConstraint(
            "pipeline_id", "last_dml_at", name=op.f("uq_freshness_log_pipeline_id_last_dml_at")
        ),
        schema="quality_alerting",
    )
    op.create_index(
        "ix_freshness_log_checked_at",
        "freshness_log",
        ["checked_at"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_table(
        "notification_channel",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=500), nullable=True),
        sa.Column("scope", sa.String(length=20), server_default=sa.text("'global'"), nullable=False),
        sa.Column("pipeline_type_id", sa.BigInteger(), nullable=True),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("min_severity", sa.String(length=10), server_default=sa.text("'info'"), nullable=False),
        sa.Column("suppression_minutes", sa.Integer(), server_default=sa.text("60"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('slack', 'webhook')", name=op.f("ck_notification_channel_kind")),
        sa.CheckConstraint(
            "min_severity IN ('info', 'warning', 'critical')",
            name=op.f("ck_notification_channel_min_severity"),
        ),
        sa.CheckConstraint(
            "scope IN ('global', 'pipeline_type', 'pipeline')", name=op.f("ck_notification_channel_scope")
        ),
        sa.CheckConstraint(
            "suppression_minutes >= 0", name=op.f("ck_notification_channel_suppression_minutes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channel")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_channel_name")),
        schema="quality_alerting",
    )
    op.create_table(
        "pipeline_settings",
        sa.Column("pipeline_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("pipeline_type_id", sa.BigInteger(), nullable=False),
        sa.Column("pipeline_type_name", sa.String(length=150), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("freshness_number", sa.Integer(), nullable=True),
        sa.Column("freshness_datepart", sa.String(length=10), nullable=True),
        sa.Column("mute_freshness_check", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("timeliness_number", sa.Integer(), nullable=True),
        sa.Column("timeliness_datepart", sa.String(length=10), nullable=True),
        sa.Column("mute_timeliness_check", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_dml_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "freshness_datepart IN ('minute', 'hour', 'day', 'week', 'month', 'year')",
            name=op.f("ck_pipeline_settings_freshness_datepart"),
        ),
        sa.CheckConstraint(
            "timeliness_datepart IN ('minute', 'hour', 'day', 'week', 'month', 'year')",
            name=op.f("ck_pipeline_settings_timeliness_datepart"),
        ),
        sa.PrimaryKeyConstraint("pipeline_id", name=op.f("pk_pipeline_settings")),
        schema="quality_alerting",
    )
    op.create_index(
        "ix_pipeline_settings_freshness_due",
        "pipeline_settings",
        ["last_dml_at"],
        unique=False,
        schema="quality_alerting",
        postgresql_where=sa.text(
            "last_dml_at IS NOT NULL AND freshness_number IS NOT NULL AND NOT mute_freshness_check"
        ),
    )
    op.create_table(
        "timeliness_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("execution_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timeliness_number", sa.Integer(), nullable=False),
        sa.Column("timeliness_datepart", sa.String(length=10), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeliness_log")),
        sa.UniqueConstraint("execution_id", name=op.f("uq_timeliness_log_execution_id")),
        schema="quality_alerting",
    )
    op.create_index(
        "ix_timeliness_log_checked_at",
        "timeliness_log",
        ["checked_at"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_table(
        "anomaly_result",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
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
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["quality_alerting.anomaly_rule.id"],
            name=op.f("fk_anomaly_result_rule_id_anomaly_rule"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_result")),
        sa.UniqueConstraint(
            "execution_id", "metric_field", name=op.f("uq_anomaly_result_execution_id_metric_field")
        ),
        schema="quality_alerting",
    )
    op.create_index(
        "ix_anomaly_result_detected_at",
        "anomaly_result",
        ["detected_at"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_index(
        "ix_anomaly_result_rule_id", "anomaly_result", ["rule_id"], unique=False, schema="quality_alerting"
    )
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("condition_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=12), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed', 'suppressed')",
            name=op.f("ck_notification_delivery_status"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["quality_alerting.alert.id"],
            name=op.f("fk_notification_delivery_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["quality_alerting.notification_channel.id"],
            name=op.f("fk_notification_delivery_channel_id_notification_channel"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint(
            "channel_id", "alert_id", name=op.f("uq_notification_delivery_channel_id_alert_id")
        ),
        schema="quality_alerting",
    )
    op.create_index(
        "ix_notification_delivery_alert_id",
        "notification_delivery",
        ["alert_id"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_index(
        "ix_notification_delivery_channel_id_condition_key",
        "notification_delivery",
        ["channel_id", "condition_key", "created_at"],
        unique=False,
        schema="quality_alerting",
    )
    op.create_index(
        "ix_notification_delivery_due",
        "notification_delivery",
        ["next_attempt_at"],
        unique=False,
        schema="quality_alerting",
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    drop_outbox_and_inbox(SCHEMA)
    op.drop_index(
        "ix_notification_delivery_due",
        table_name="notification_delivery",
        schema="quality_alerting",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        "ix_notification_delivery_channel_id_condition_key",
        table_name="notification_delivery",
        schema="quality_alerting",
    )
    op.drop_index(
        "ix_notification_delivery_alert_id", table_name="notification_delivery", schema="quality_alerting"
    )
    op.drop_table("notification_delivery", schema="quality_alerting")
    op.drop_index("ix_anomaly_result_rule_id", table_name="anomaly_result", schema="quality_alerting")
    op.drop_index("ix_anomaly_result_detected_at", table_name="anomaly_result", schema="quality_alerting")
    op.drop_table("anomaly_result", schema="quality_alerting")
    op.drop_index("ix_timeliness_log_checked_at", table_name="timeliness_log", schema="quality_alerting")
    op.drop_table("timeliness_log", schema="quality_alerting")
    op.drop_index(
        "ix_pipeline_settings_freshness_due",
        table_name="pipeline_settings",
        schema="quality_alerting",
        postgresql_where=sa.text(
            "last_dml_at IS NOT NULL AND freshness_number IS NOT NULL AND NOT mute_freshness_check"
        ),
    )
    op.drop_table("pipeline_settings", schema="quality_alerting")
    op.drop_table("notification_channel", schema="quality_alerting")
    op.drop_index("ix_freshness_log_checked_at", table_name="freshness_log", schema="quality_alerting")
    op.drop_table("freshness_log", schema="quality_alerting")
    op.drop_index("ix_execution_metric_start_date", table_name="execution_metric", schema="quality_alerting")
    op.drop_index("ix_execution_metric_end_date", table_name="execution_metric", schema="quality_alerting")
    op.drop_index(
        "ix_execution_metric_baseline",
        table_name="execution_metric",
        schema="quality_alerting",
        postgresql_where=sa.text("completed_successfully"),
    )
    op.drop_table("execution_metric", schema="quality_alerting")
    op.drop_table("anomaly_rule", schema="quality_alerting")
    op.drop_index("ix_alert_resolved_is_muted_id", table_name="alert", schema="quality_alerting")
    op.drop_index("ix_alert_pipeline_id_id", table_name="alert", schema="quality_alerting")
    op.drop_index("ix_alert_created_at", table_name="alert", schema="quality_alerting")
    op.drop_table("alert", schema="quality_alerting")

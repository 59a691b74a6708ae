"""Tables of the `execution_tracking` schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import SchemaItem

from headwater.common.db import columns, schema_metadata
from headwater.common.messaging.tables import inbox_table, outbox_quarantine_table, outbox_table
from headwater.execution_tracking import SCHEMA

metadata = schema_metadata(SCHEMA)


def _bounded_check_settings(check: str) -> list[SchemaItem]:
    """A check's settings, with the bounds execution-tracking, their owner, enforces."""
    return [
        *columns.check_settings(check),
        CheckConstraint(f"{check}_number > 0", name=f"{check}_number_positive"),
        CheckConstraint(f"{check}_datepart IN {columns.DATEPARTS}", name=f"{check}_datepart_valid"),
    ]


pipeline_type = Table(
    "pipeline_type",
    metadata,
    columns.identity_key(),
    Column("name", String(150), nullable=False, unique=True),
    *_bounded_check_settings("freshness"),
    *_bounded_check_settings("timeliness"),
    *columns.timestamps(),
)

pipeline = Table(
    "pipeline",
    metadata,
    columns.identity_key(),
    # Watcher names are at most 150 characters; OpenLineage `namespace/name` ones can be longer.
    Column("name", String(500), nullable=False, unique=True),
    columns.reference("pipeline_type_id", pipeline_type.c.id, index=True),
    Column("watermark", String(50)),
    Column("next_watermark", String(50)),
    Column("pipeline_metadata", JSONB),
    Column("last_target_insert", DateTime(timezone=True)),
    Column("last_target_update", DateTime(timezone=True)),
    Column("last_target_soft_delete", DateTime(timezone=True)),
    *_bounded_check_settings("freshness"),
    *_bounded_check_settings("timeliness"),
    Column("load_lineage", Boolean, nullable=False, server_default=text("true")),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("request_digest", String(64)),
    *columns.timestamps(),
)

pipeline_execution = Table(
    "pipeline_execution",
    metadata,
    columns.identity_key(),
    Column("parent_id", BigInteger, ForeignKey("pipeline_execution.id", ondelete="SET NULL")),
    columns.reference("pipeline_id", pipeline.c.id),
    # A producer-chosen run id (ingress.runs, OpenLineage); makes re-sent reports harmless.
    Column("run_id", String(200), unique=True),
    Column("start_date", DateTime(timezone=True), nullable=False),
    Column("end_date", DateTime(timezone=True)),
    Column("duration_seconds", BigInteger),
    Column("completed_successfully", Boolean),
    *columns.row_counts(),
    *(CheckConstraint(f"{count} >= 0", name=f"{count}_non_negative") for count in columns.ROW_COUNTS),
    Column("watermark", String(50)),
    Column("next_watermark", String(50)),
    Column("execution_metadata", JSONB),
    Column("anomaly_flags", JSONB),
    Column("throughput", Float),
    Column("hour_recorded", SmallInteger, nullable=False),
    Column("date_recorded", Date, nullable=False),
    *columns.timestamps(),
    Index("ix_pipeline_execution_pipeline_id_start_date", "pipeline_id", "start_date"),
    Index("ix_pipeline_execution_parent_id", "parent_id", postgresql_where=text("parent_id IS NOT NULL")),
    Index("ix_pipeline_execution_end_date", "end_date"),
)

# Ancestor/descendant pairs of the execution hierarchy, every execution with its own depth-0 row.
pipeline_execution_closure = Table(
    "pipeline_execution_closure",
    metadata,
    columns.reference("parent_execution_id", pipeline_execution.c.id, ondelete="CASCADE"),
    columns.reference("child_execution_id", pipeline_execution.c.id, ondelete="CASCADE"),
    Column("depth", Integer, nullable=False),
    PrimaryKeyConstraint("parent_execution_id", "child_execution_id"),
    Index("ix_pipeline_execution_closure_child_execution_id", "child_execution_id"),
)

# The closure rows of the executions just inserted by the CTE `e` (columns id, parent_id): each one's self row
# and one row per ancestor of its parent. A parent inserted by the same statement is not visible here.
CLOSURE_OF_INSERTED = """
    INSERT INTO pipeline_execution_closure (parent_execution_id, child_execution_id, depth)
    SELECT e.id, e.id, 0 FROM e
    UNION ALL
    SELECT c.parent_execution_id, e.id, c.depth + 1
    FROM e JOIN pipeline_execution_closure c ON c.child_execution_id = e.parent_id
"""

# What a run is known by once started (the columns an end needs).
RUN_FIELDS = (
    "id",
    "pipeline_id",
    "parent_id",
    "run_id",
    "start_date",
    "watermark",
    "next_watermark",
    "hour_recorded",
    "date_recorded",
)

# A pipeline type's settings that its pipelines inherit.
TYPE_SETTINGS = (
    "freshness_number",
    "freshness_datepart",
    "mute_freshness_check",
    "timeliness_number",
    "timeliness_datepart",
    "mute_timeliness_check",
)

# -- addresses and lineage ----------------------------------------------------------------------------------------

address_type = Table(
    "address_type",
    metadata,
    columns.identity_key(),
    Column("name", String(150), nullable=False, unique=True),
    Column("group_name", String(150), nullable=False),
    *columns.timestamps(),
)

address = Table(
    "address",
    metadata,
    columns.identity_key(),
    # Watcher names are at most 150 characters; OpenLineage `namespace/name` ones can be longer.
    Column("name", String(1000), nullable=False, unique=True),
    columns.reference("address_type_id", address_type.c.id, index=True),
    Column("database_name", String(255)),
    Column("schema_name", String(255)),
    Column("table_name", String(255)),
    Column("primary_key", String(255)),
    Column("address_metadata", JSONB),
    *columns.timestamps(),
)

# One row per edge a pipeline declares: data flows from source to target through the pipeline. The two
# covering indexes serve the graph walk one hop at a time in either direction.
address_lineage = Table(
    "address_lineage",
    metadata,
    columns.reference("pipeline_id", pipeline.c.id, ondelete="CASCADE"),
    columns.reference("source_address_id", address.c.id, ondelete="CASCADE"),
    columns.reference("target_address_id", address.c.id, ondelete="CASCADE"),
    columns.created_at(),
    PrimaryKeyConstraint("pipeline_id", "source_address_id", "target_address_id"),
    Index("ix_address_lineage_downstream", "source_address_id", "target_address_id", "pipeline_id"),
    Index("ix_address_lineage_upstream", "target_address_id", "source_address_id", "pipeline_id"),
)

# The datasets each OpenLineage run read (`input`) or wrote (`output`), across all of its events; a pipeline's
# edges are its latest such run's inputs x outputs, whatever order the events came in.
run_dataset = Table(
    "run_dataset",
    metadata,
    columns.reference("execution_id", pipeline_execution.c.id, ondelete="CASCADE"),
    Column(
        "role", String(6), CheckConstraint("role IN ('input', 'output')", name="role_valid"), nullable=False
    ),
    columns.reference("address_id", address.c.id, ondelete="CASCADE"),
    PrimaryKeyConstraint("execution_id", "role", "address_id"),
    Index("ix_run_dataset_address_id", "address_id"),
)

outbox = outbox_table(metadata)
outbox_quarantine = outbox_quarantine_table(metadata)
inbox = inbox_table(metadata)

"""How OpenLineage names map onto Watcher names: jobs to pipelines, datasets to addresses and their types.

Names keep their case: OpenLineage identifiers are case-sensitive (object-store keys, Spark job names), and
folding them could merge two different datasets. Both are `namespace/name`, so that the same table name in
two databases, or a topic and a table of the same name, stay apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from headwater.common.contracts.openlineage import TERMINAL, EventType, RunEvent
from headwater.execution_tracking.domain.errors import RuleViolation
from headwater.execution_tracking.domain.rules import as_utc

MAX_PIPELINE_NAME = 500
MAX_ADDRESS_NAME = 1000
MAX_PART = 255

# Namespace schemes (https://openlineage.io/docs/spec/naming) by the Watcher address group they belong to.
GROUPS = {
    "database": {
        "athena",
        "awsathena",
        "azuresql",
        "bigquery",
        "cassandra",
        "clickhouse",
        "databricks",
        "db2",
        "duckdb",
        "hive",
        "mariadb",
        "mongodb",
        "mssql",
        "mysql",
        "oracle",
        "postgres",
        "postgresql",
        "redshift",
        "snowflake",
        "sqlite",
        "sqlserver",
        "teradata",
        "trino",
        "presto",
        "vertica",
    },
    "storage": {"abfs", "abfss", "dbfs", "file", "gcs", "gs", "hdfs", "s3", "s3a", "s3n", "wasb", "wasbs"},
    "stream": {"eventhubs", "kafka", "kinesis", "pubsub", "pulsar"},
}
OTHER_GROUP = "dataset"


def job_pipeline_name(namespace: str, name: str) -> str:
    full = f"{namespace}/{name}"
    if len(full) > MAX_PIPELINE_NAME:
        raise RuleViolation(f"job `namespace/name` must be at most {MAX_PIPELINE_NAME} characters")
    return full


def job_type_name(integration: str) -> str:
    """The pipeline type of a job: its `jobType` facet's integration (airflow, spark, dbt, flink...)."""
    return integration.strip().lower()[:150] or "openlineage"


def scheme(namespace: str) -> str:
    """`postgres://host:5432` -> postgres, `s3://bucket` -> s3, `bigquery` -> bigquery."""
    head = namespace.split("://", 1)[0] if "://" in namespace else namespace.split(":", 1)[0]
    return (head.strip().lower() or "unknown")[:150]


def group_of(type_name: str) -> str:
    return next((group for group, schemes in GROUPS.items() if type_name in schemes), OTHER_GROUP)


def dataset_address(namespace: str, name: str) -> dict[str, Any]:
    """The address fields of a dataset, as `store_addresses` takes them."""
    full = f"{namespace}/{name}"
    if len(full) > MAX_ADDRESS_NAME:
        raise RuleViolation(f"dataset `namespace/name` must be at most {MAX_ADDRESS_NAME} characters")
    type_name = scheme(namespace)
    group = group_of(type_name)
    fields: dict[str, Any] = {
        "name": full,
        "address_type_name": type_name,
        "address_type_group_name": group,
        "address_metadata": {"openlineage": {"namespace": namespace, "name": name}},
    }
    parts = name.split(".")
    if group == "database" and len(parts) == 3 and all(0 < len(p) <= MAX_PART for p in parts):
        fields.update(zip(("database_name", "schema_name", "table_name"), parts, strict=True))
    return fields


@dataclass(frozen=True, order=True)
class Terminal:
    """A run's end as one terminal event states it; the greater one wins (later, then a failure on a tie)."""

    at: datetime
    failed: bool
    event_type: str = field(compare=False)
    producer: str = field(compare=False)


@dataclass
class RunFold:
    """What some events say about one run, merged by rules that do not depend on their order or repetition:
    the earliest event time, the winning terminal event, the largest row count, every dataset named."""

    run_id: str
    namespace: str
    name: str
    first_at: datetime
    integration: str | None = None
    parent: tuple[str, str, str] | None = None  # the parent's run id, job namespace, job name
    terminal: Terminal | None = None
    rows: int | None = None
    inputs: set[tuple[str, str]] = field(default_factory=set)
    outputs: set[tuple[str, str]] = field(default_factory=set)
    indexes: list[int] = field(default_factory=list)  # where the events were in their batch

    @classmethod
    def of(cls, event: RunEvent, index: int = 0) -> RunFold:
        fold = cls(str(event.run.runId), event.job.namespace, event.job.name, as_utc(event.eventTime))
        fold.add(event, index)
        return fold

    def add(self, event: RunEvent, index: int) -> None:
        at = as_utc(event.eventTime)
        self.first_at = min(self.first_at, at)
        job_type = event.job.facets.jobType if event.job.facets else None
        if job_type is not None and job_type.integration:
            self.integration = max(self.integration or "", job_type.integration)
        parent = event.run.facets.parent if event.run.facets else None
        if parent is not None and str(parent.run.runId) != self.run_id:
            stated = (str(parent.run.runId), parent.job.namespace, parent.job.name)
            self.parent = min(self.parent or stated, stated)
        if event.eventType in TERMINAL:
            terminal = Terminal(
                at, event.eventType is not EventType.COMPLETE, event.eventType.value, event.producer
            )
            if self.terminal is None or terminal > self.terminal:
                self.terminal = terminal
        rows = row_count(event)
        if rows is not None:
            self.rows = max(self.rows or 0, rows)
        self.inputs.update((d.namespace, d.name) for d in event.inputs)
        self.outputs.update((d.namespace, d.name) for d in event.outputs)
        self.indexes.append(index)


def fold_by_run(events: Sequence[RunEvent]) -> list[RunFold]:
    """One fold per run (and job) of a batch, in the order each run first appears."""
    folds: dict[tuple[str, str, str], RunFold] = {}
    for index, event in enumerate(events):
        key = (str(event.run.runId), event.job.namespace, event.job.name)
        if key in folds:
            folds[key].add(event, index)
        else:
            folds[key] = RunFold.of(event, index)
    return list(folds.values())


def row_count(event: RunEvent) -> int | None:
    """The rows an event says its outputs got: the sum of their `outputStatistics.rowCount`."""
    counts = [
        o.outputFacets.outputStatistics.rowCount
        for o in event.outputs
        if o.outputFacets
        and o.outputFacets.outputStatistics
        and o.outputFacets.outputStatistics.rowCount is not None
    ]
    return sum(counts) if counts else None

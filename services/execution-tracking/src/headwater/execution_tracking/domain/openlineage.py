"""How OpenLineage names map onto Watcher names: jobs to pipelines, datasets to addresses and their types.

Names keep their case: OpenLineage identifiers are case-sensitive (object-store keys, Spark job names), and
folding them could merge two different datasets. Both are `namespace/name`, so that the same table name in
two databases, or a topic and a table of the same name, stay apart.
"""

from __future__ import annotations

from typing import Any

from headwater.execution_tracking.domain.errors import RuleViolation

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

"""How OpenLineage names become Watcher names: jobs to pipelines, datasets to addresses and their types."""

from __future__ import annotations

import random

import msgspec
import pytest

from headwater.common.contracts.openlineage import RunEvent, decode_run_event
from headwater.execution_tracking.domain.errors import RuleViolation
from headwater.execution_tracking.domain.openlineage import (
    MAX_ADDRESS_NAME,
    MAX_PART,
    MAX_PIPELINE_NAME,
    OTHER_GROUP,
    RunFold,
    dataset_address,
    fold_by_run,
    group_of,
    job_pipeline_name,
    job_type_name,
    scheme,
)


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("postgres://h:5432", "postgres"),
        ("s3://b", "s3"),
        ("bigquery", "bigquery"),
        ("kafka://b:9092", "kafka"),
        ("POSTGRES://H:5432", "postgres"),
        ("sqlserver://h:1433;database=sales", "sqlserver"),
        ("hive:thrift", "hive"),
        ("myproprietary://host", "myproprietary"),
        ("", "unknown"),
        ("   ", "unknown"),
    ],
)
def test_scheme_is_the_namespace_up_to_its_separator_lower_cased(namespace: str, expected: str) -> None:
    assert scheme(namespace) == expected


def test_scheme_is_cut_to_the_length_of_a_type_name() -> None:
    assert scheme("x" * 400 + "://host") == "x" * 150


@pytest.mark.parametrize(
    ("namespace", "group"),
    [
        ("postgres://h:5432", "database"),
        ("bigquery", "database"),
        ("snowflake://acct", "database"),
        ("s3://b", "storage"),
        ("gs://b", "storage"),
        ("file", "storage"),
        ("kafka://b:9092", "stream"),
        ("kinesis://stream", "stream"),
        ("myproprietary://host", OTHER_GROUP),
        ("", OTHER_GROUP),
    ],
)
def test_a_scheme_belongs_to_a_group_and_an_unknown_one_to_dataset(namespace: str, group: str) -> None:
    assert group_of(scheme(namespace)) == group
    assert dataset_address(namespace, "x")["address_type_group_name"] == group


def test_unknown_group_is_dataset() -> None:
    assert OTHER_GROUP == "dataset"
    assert group_of("nosuchscheme") == "dataset"


def test_a_dataset_address_is_namespace_slash_name_with_its_type_and_original_names() -> None:
    assert dataset_address("postgres://h:5432", "sales.public.orders") == {
        "name": "postgres://h:5432/sales.public.orders",
        "address_type_name": "postgres",
        "address_type_group_name": "database",
        "address_metadata": {
            "openlineage": {"namespace": "postgres://h:5432", "name": "sales.public.orders"}
        },
        "database_name": "sales",
        "schema_name": "public",
        "table_name": "orders",
    }


def test_names_keep_their_case() -> None:
    address = dataset_address("s3://Bucket", "Raw/Orders.csv")
    assert address["name"] == "s3://Bucket/Raw/Orders.csv"
    assert address["address_type_name"] == "s3"
    assert job_pipeline_name("Airflow", "Daily_Sales.Load") == "Airflow/Daily_Sales.Load"


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("s3://b", "db.schema.table"),
        ("kafka://b:9092", "db.schema.table"),
        ("myproprietary://host", "db.schema.table"),
        ("postgres://h:5432", "public.orders"),
        ("postgres://h:5432", "orders"),
        ("postgres://h:5432", "a.b.c.d"),
        ("postgres://h:5432", "sales..orders"),
        ("postgres://h:5432", "sales.public."),
        ("postgres://h:5432", "sales.public." + "t" * (MAX_PART + 1)),
    ],
)
def test_only_three_part_names_in_a_database_namespace_fill_database_schema_table(
    namespace: str, name: str
) -> None:
    address = dataset_address(namespace, name)
    assert {"database_name", "schema_name", "table_name"}.isdisjoint(address)


def test_a_part_of_the_longest_allowed_length_fills_its_field() -> None:
    address = dataset_address("bigquery", "project.dataset." + "t" * MAX_PART)
    assert (address["database_name"], address["schema_name"], address["table_name"]) == (
        "project",
        "dataset",
        "t" * MAX_PART,
    )


def test_an_over_long_dataset_name_is_a_rule_violation() -> None:
    namespace = "s3://b"
    longest = "k" * (MAX_ADDRESS_NAME - len(namespace) - 1)
    assert len(dataset_address(namespace, longest)["name"]) == MAX_ADDRESS_NAME
    with pytest.raises(RuleViolation, match=str(MAX_ADDRESS_NAME)):
        dataset_address(namespace, longest + "k")


def test_an_over_long_job_name_is_a_rule_violation() -> None:
    longest = "j" * (MAX_PIPELINE_NAME - len("airflow/"))
    assert len(job_pipeline_name("airflow", longest)) == MAX_PIPELINE_NAME
    with pytest.raises(RuleViolation, match=str(MAX_PIPELINE_NAME)):
        job_pipeline_name("airflow", longest + "j")


@pytest.mark.parametrize(
    ("integration", "expected"),
    [
        ("AIRFLOW", "airflow"),
        ("Spark", "spark"),
        ("  dbt  ", "dbt"),
        ("flink", "flink"),
        ("", "openlineage"),
        ("   ", "openlineage"),
        ("X" * 200, "x" * 150),
    ],
)
def test_job_type_name_is_the_integration_lower_cased(integration: str, expected: str) -> None:
    assert job_type_name(integration) == expected


def _event(kind: str, second: int, run_id: str, **extra: object) -> RunEvent:
    body = {
        "eventType": kind,
        "eventTime": f"2024-01-01T00:00:{second:02d}Z",
        "run": {"runId": run_id},
        "job": {"namespace": "ns", "name": "job"},
        **extra,
    }
    return decode_run_event(msgspec.json.encode(body))


def test_a_fold_is_the_same_whatever_the_order_and_repetition() -> None:
    run_id = "0b8d5a6e-0000-4000-8000-000000000001"
    events = [
        _event("START", 10, run_id, inputs=[{"namespace": "pg", "name": "a"}]),
        _event(
            "RUNNING",
            20,
            run_id,
            outputs=[{"namespace": "s3", "name": "b", "outputFacets": {"outputStatistics": {"rowCount": 5}}}],
        ),
        _event(
            "COMPLETE",
            40,
            run_id,
            outputs=[{"namespace": "s3", "name": "b", "outputFacets": {"outputStatistics": {"rowCount": 9}}}],
        ),
        _event("FAIL", 40, run_id),
        _event("COMPLETE", 30, run_id),
    ]

    def summary(fold: RunFold) -> tuple[object, ...]:
        return (fold.first_at, fold.terminal, fold.rows, fold.inputs, fold.outputs)

    (expected,) = fold_by_run(events)
    assert expected.terminal is not None
    assert (expected.terminal.failed, expected.terminal.at.second, expected.rows) == (True, 40, 9)
    assert expected.first_at.second == 10
    for seed in range(10):
        shuffled = random.Random(seed).sample(events * 2, len(events) * 2)
        (fold,) = fold_by_run(shuffled)
        assert summary(fold) == summary(expected)
        assert sorted(fold.indexes) == list(range(len(events) * 2))


def test_a_batch_folds_per_run_in_first_seen_order() -> None:
    first, second = "0b8d5a6e-0000-4000-8000-00000000000a", "0b8d5a6e-0000-4000-8000-00000000000b"
    folds = fold_by_run(
        [_event("START", 1, second), _event("START", 2, first), _event("COMPLETE", 3, second)]
    )
    assert [(f.run_id, f.indexes) for f in folds] == [(second, [0, 2]), (first, [1])]

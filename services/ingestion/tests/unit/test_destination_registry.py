"""The destinations' registry and forms: every kind found, an unknown one refused by name, configurations that fail
their form refused before anything connects."""

from __future__ import annotations

import pytest

from headwater.ingestion.adapters.connectors.registry_destinations import (
    UnknownDestination,
    destination,
    destinations,
)
from headwater.ingestion.domain.connectors import CheckFailed
from headwater.ingestion.domain.syncs import secret_fields


def test_every_destination_is_found_by_its_kind() -> None:
    assert sorted(destinations()) == ["iceberg", "parquet", "postgres"]
    for kind, connector in destinations().items():
        assert destination(kind) is connector
        assert connector.spec()["type"] == "object"


def test_the_forms_mark_their_secrets() -> None:
    assert {kind: secret_fields(connector.spec()) for kind, connector in destinations().items()} == {
        "postgres": {"password"},
        "parquet": {"secret_access_key"},
        "iceberg": {"catalog_password", "secret_access_key"},
    }


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownDestination) as unknown:
        destination("snowflake")
    assert str(unknown.value) == "unknown destination type 'snowflake': use one of iceberg, parquet, postgres"


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("postgres", {"host": "db", "database": "d"}, "username"),
        ("postgres", {"host": "db", "database": "d", "username": "u", "port": "x"}, "port"),
        ("postgres", {"host": "db", "database": "d", "username": "u", "sslmode": "on"}, "sslmode"),
        ("parquet", {"store": "gcs"}, "store"),
        (
            "iceberg",
            {"catalog_host": "h", "catalog_database": "d", "catalog_username": "u", "namespace": "a.b"},
            "namespace",
        ),
    ],
)
async def test_a_configuration_failing_the_form_is_refused_naming_the_field(
    kind: str, config: dict[str, object], field: str
) -> None:
    with pytest.raises(CheckFailed) as failed:
        await destination(kind).check(config)
    assert failed.value.reason == "invalid_config"
    assert field in failed.value.message


async def test_a_secret_never_shows_in_the_refusal() -> None:
    with pytest.raises(CheckFailed) as failed:
        await destination("postgres").check(
            {"host": "db", "database": "d", "username": "u", "password": "hunter2", "port": 0}
        )
    assert "hunter2" not in failed.value.message

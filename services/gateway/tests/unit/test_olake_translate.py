"""OLake's words ↔ ingestion's: frequencies and crons, configs, the streams catalog, run statuses and times,
and the forms the UI's renderer reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from headwater.gateway.dialects.olake import specs
from headwater.gateway.dialects.olake import translate as t


@pytest.mark.parametrize(
    ("frequency", "cron"),
    [
        ("1-minutes", "* * * * *"),
        ("5-minutes", "*/5 * * * *"),
        ("1-hours", "0 * * * *"),
        ("6-hours", "0 */6 * * *"),
        ("1-days", "0 0 * * *"),
        ("2-days", "0 0 */2 * *"),
        ("2-weeks", "0 0 * * */2"),
        ("3-months", "0 0 1 */3 *"),
        ("1-years", "0 0 1 1 *"),
    ],
)
def test_frequency_to_cron_and_back(frequency: str, cron: str) -> None:
    assert t.frequency_to_cron(frequency) == cron
    assert t.cron_to_frequency(cron) == frequency


@pytest.mark.parametrize("bad", ["", "hourly", "1-fortnights", "0-hours", "-1-hours", "61-minutes", "x-days"])
def test_a_bad_frequency_is_a_400_saying_the_form(bad: str) -> None:
    with pytest.raises(t.Refused) as refused:
        t.frequency_to_cron(bad)
    assert refused.value.status == 400
    assert "<N>-<unit>" in refused.value.detail or "every 1 to" in refused.value.detail


def test_a_cron_made_elsewhere_has_no_frequency() -> None:
    assert t.cron_to_frequency("15 3 * * 1-5") == ""
    assert t.cron_to_frequency(None) == ""


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("{host:", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"x"', "JSON object"),
    ],
)
def test_a_config_string_that_is_no_object_is_a_400(text: str, says: str) -> None:
    with pytest.raises(t.Refused) as refused:
        t.parse_config(text)
    assert refused.value.status == 400
    assert says in refused.value.detail


def test_configs_map_to_our_connectors_and_back() -> None:
    olake = {
        "host": "db",
        "port": 5432,
        "database": "app",
        "username": "u",
        "password": "p",
        "ssl": {"mode": "require"},
    }
    ours = t.source_config("postgres", t.parse_config(json.dumps(olake)))
    assert ours == {
        "host": "db",
        "port": 5432,
        "database": "app",
        "username": "u",
        "password": "p",
        "ssl_mode": "require",
    }
    assert t.source_config_olake("postgres", ours) == olake
    assert t.source_config("mysql", {"hosts": "db:3307", "username": "u", "database": "d"}) == {
        "host": "db",
        "port": 3307,
        "username": "u",
        "database": "d",
    }
    assert t.source_config("mongodb", {"hosts": "a:1, b:2", "database": "d", "authdb": "admin"}) == {
        "hosts": ["a:1", "b:2"],
        "database": "d",
        "auth_source": "admin",
    }
    with pytest.raises(t.Refused, match=r"config\.ssl must be an object"):
        t.source_config("postgres", {"host": "db", "ssl": "require"})


def test_s3_is_parquet_and_iceberg_needs_the_jdbc_catalog() -> None:
    s3 = {"type": "PARQUET", "writer": {"s3_bucket": "b", "s3_region": "eu", "s3_path": "/data"}}
    ours = t.destination_config("parquet", s3)
    assert ours == {"bucket": "b", "region": "eu", "prefix": "/data", "store": "s3"}
    assert t.destination_config_olake("parquet", ours)["writer"]["s3_bucket"] == "b"
    assert t.destination_kind("Amazon S3") == "parquet"
    assert t.destination_kind("apache iceberg") == "iceberg"
    assert t.destination_type("parquet") == "s3"
    writer = {
        "catalog_type": "jdbc",
        "jdbc_url": "jdbc:postgresql://pg:6543/cat",
        "jdbc_username": "u",
        "jdbc_password": "p",
        "iceberg_s3_path": "s3://wh/lake",
        "iceberg_db": "olake",
    }
    ice = t.destination_config("iceberg", {"type": "ICEBERG", "writer": writer})
    assert ice["catalog_host"] == "pg"
    assert ice["catalog_port"] == 6543
    assert ice["catalog_database"] == "cat"
    assert (ice["store"], ice["bucket"], ice["prefix"], ice["namespace"]) == ("s3", "wh", "lake", "olake")
    back = t.destination_config_olake("iceberg", ice)["writer"]
    assert back["jdbc_url"] == writer["jdbc_url"]
    assert back["iceberg_s3_path"] == writer["iceberg_s3_path"]
    with pytest.raises(t.Unsupported, match="glue"):
        t.destination_config("iceberg", {"writer": {"catalog_type": "glue"}})
    with pytest.raises(t.Refused):
        t.destination_kind("bigquery")
    with pytest.raises(t.Refused):
        t.source_kind("kafka")


DISCOVERED = [
    {
        "namespace": "public",
        "name": "users",
        "columns": [
            {"name": "id", "type": "integer", "nullable": False},
            {"name": "seen", "type": "string", "format": "date-time", "nullable": True},
        ],
        "primary_key": ["id"],
        "cursor_candidates": ["seen"],
        "sync_modes": ["full_refresh", "incremental", "cdc"],
    },
    {
        "namespace": None,
        "name": "events",
        "columns": [],
        "primary_key": [],
        "cursor_candidates": [],
        "sync_modes": ["full_refresh"],
    },
]


def test_discovery_is_a_catalog_with_everything_selected() -> None:
    catalog = t.catalog(DISCOVERED)
    users = catalog["streams"][0]["stream"]
    assert users["type_schema"]["properties"] == {
        "id": {"type": ["integer"]},
        "seen": {"type": ["timestamp_micro", "null"]},
    }
    assert users["sync_mode"] == "full_refresh"
    assert catalog["selected_streams"] == {
        "public": [{"partition_regex": "", "stream_name": "users", "normalization": False}],
        "default": [{"partition_regex": "", "stream_name": "events", "normalization": False}],
    }


def test_streams_config_round_trip() -> None:
    catalog = t.catalog(DISCOVERED)
    catalog["streams"][0]["stream"]["sync_mode"] = "incremental"
    catalog["selected_streams"]["default"] = []  # events unselected
    text = json.dumps(catalog)
    assert t.selections(text) == [
        {
            "name": "users",
            "namespace": "public",
            "sync_mode": "incremental",
            "primary_key": ["id"],
            "cursor_field": "seen",
        }
    ]
    # Discovering again for the job keeps its choices.
    again = t.catalog(DISCOVERED, text)
    assert again["streams"][0]["stream"]["sync_mode"] == "incremental"
    assert again["selected_streams"] == catalog["selected_streams"]
    # strict_cdc is our cdc; the legacy forms the UI reads back are understood.
    catalog["streams"][0]["stream"]["sync_mode"] = "strict_cdc"
    assert t.selections(json.dumps(catalog))[0]["sync_mode"] == "cdc"
    assert t.selections('["events"]') == [
        {"name": "events", "namespace": None, "sync_mode": "full_refresh", "primary_key": []}
    ]
    assert t.selections("[]") == []
    made = t.streams_config_of(
        [{"name": "users", "namespace": "public", "sync_mode": "full_refresh", "primary_key": ["id"]}]
    )
    assert t.selections(made) == [
        {"name": "users", "namespace": "public", "sync_mode": "full_refresh", "primary_key": ["id"]}
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "{nope",
        '"users"',
        '{"selected_streams": ["users"], "streams": []}',
        '{"selected_streams": {}, "streams": [{"x": 1}]}',
        "[1]",
    ],
)
def test_a_bad_streams_config_is_a_400(bad: str) -> None:
    with pytest.raises(t.Refused, match="streams_config"):
        t.selections(bad)


def test_an_unknown_sync_mode_is_a_400() -> None:
    catalog = t.catalog(DISCOVERED)
    catalog["streams"][0]["stream"]["sync_mode"] = "mirror"
    with pytest.raises(t.Refused, match="mirror"):
        t.selections(json.dumps(catalog))


def test_run_statuses_and_times_as_the_ui_reads_them() -> None:
    assert [t.run_status(s) for s in ("queued", "running", "succeeded", "failed", "canceled", "skipped")] == [
        "Scheduled",
        "Running",
        "Completed",
        "Failed",
        "Cancelled",
        "Skipped",
    ]
    assert t.run_status(None) == ""
    started = datetime(2025, 7, 3, 11, 0, tzinfo=UTC)
    assert t.runtime(65, started, started) == "1m5s"
    assert t.runtime(3723, started, started) == "1h2m3s"
    assert t.runtime(None, started, started + timedelta(seconds=41)) == "41s"
    assert t.rfc3339(started) == "2025-07-03T11:00:00Z"


def test_the_forms_are_what_the_ui_renders() -> None:
    postgres = specs.source_spec("postgres")
    assert [postgres["properties"][k]["order"] for k in ("host", "port", "database")] == [1, 2, 3]
    assert postgres["properties"]["password"]["format"] == "password"
    spec, ui = specs.destination_spec("iceberg", "none")
    assert spec["properties"]["writer"]["properties"]["catalog_type"]["default"] == "glue"
    assert ui["writer"]["catalog_type"] == {"ui:widget": "hidden"}
    with pytest.raises(t.Refused, match="catalog"):
        specs.destination_spec("iceberg", "nessie")
    ours = {
        "properties": {
            "host": {"type": "string", "minLength": 1},
            "password": {"type": "string", "x-secret": True},
            "ssl": {"enum": ["disable", "prefer"], "default": "prefer"},
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["host"],
    }
    form = specs.form_of(ours)
    assert form["properties"]["host"] == {"type": "string", "order": 1}
    assert form["properties"]["password"]["format"] == "password"
    assert form["properties"]["ssl"]["type"] == "string"
    assert form["properties"]["schema"]["type"] == "string"

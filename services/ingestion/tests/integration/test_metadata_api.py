"""Qluster's metadata over the internal API on the real Postgres: datasets, destinations and data sources with
their versions, history and templates; validation info; a `limited_to_source` caller's scope."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.principal import HEADER, Principal

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


def limited(*data_sources: int) -> dict[str, str]:
    principal = Principal(subject="41", username="lim", role="limited_to_source", data_sources=data_sources)
    return {HEADER: principal.header()}


def tag() -> str:
    return uuid.uuid4().hex[:8]


async def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def make_dataset(client: Client, **fields: Any) -> dict[str, Any]:
    name = f"orders-{tag()}"
    body = {"name": name, "schema_name": "sales", "database_name": "warehouse", "table_name": name} | fields
    return await ok(await client.post("/datasets", json=body))


async def make_data_source(client: Client, dataset: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": f"bucket-{tag()}", "settings_model_id": dataset["settings_model"]["id"]} | fields
    return await ok(await client.post("/data-sources", json=body))


async def test_a_dataset_is_created_from_the_template_read_changed_and_its_history_kept(
    client: Client,
) -> None:
    template = await ok(await client.get("/datasets/new"))
    assert template["migration_policy"] == "ask_user"
    assert template["redirect_post_submit_to"] == ""
    created = await make_dataset(client, settings_model={"boolean_true": ["yes"]})
    assert created["version_id"] == 0
    assert created["state"] == "active"
    assert created["settings_model"] == {"id": created["id"], "version_id": 0, "boolean_true": ["yes"]}
    assert created["data_loading_process"] == "replace"  # from the template

    patched = await ok(
        await client.patch(
            "/datasets",
            json={
                "id": created["id"],
                "version_id": 0,
                "name": "renamed",
                "settings_model": {"id": created["id"], "version_id": 0, "dollar_to_cent": True},
            },
        )
    )
    assert patched["name"] == "renamed"
    assert patched["version_id"] == 1
    assert patched["settings_model"] == {
        "id": created["id"],
        "version_id": 1,
        "boolean_true": ["yes"],
        "dollar_to_cent": True,
    }
    assert (await ok(await client.get(f"/datasets/{created['id']}")))["name"] == "renamed"

    stale = await client.patch("/datasets", json={"id": created["id"], "version_id": 0, "name": "again"})
    assert stale.status_code == 409
    assert "stale" in stale.json()["detail"]

    history = await ok(await client.get(f"/datasets/{created['id']}/history"))
    assert [(h["version_id"], h["change"], h["name"]) for h in history["dataset_history"]] == [
        (0, "created", created["name"]),
        (1, "updated", "renamed"),
    ]
    assert [s["version_id"] for s in history["settings_model_history"]] == [0, 1]


async def test_dataset_reads_and_refusals(client: Client) -> None:
    dataset = await make_dataset(client, bad_rows_count=4)
    base = f"/datasets/{dataset['id']}"
    assert await ok(await client.get(f"{base}/stats")) == {"bad_rows_count": 4}
    assert await ok(await client.get(f"{base}/any-training-job-running")) == {"result": False}
    extra = await ok(await client.get(f"{base}/extra-details"))
    assert extra["unresolved_alerts"] == 0
    assert extra["destination_name"] is None
    copy = await ok(await client.get(f"{base}/copy"))
    assert copy["id"] == 0
    assert copy["name"] == f"Copy of {dataset['name']}"

    missing = await client.get("/datasets/987654321987")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "dataset 987654321987 not found"}
    bad = await client.post("/datasets", json={"name": "x", "schema_name": "s", "database_name": "d"})
    assert bad.status_code == 422
    assert "table_name" in str(bad.json()["detail"])
    wrong_destination = await client.post(
        "/datasets",
        json={
            "name": "x",
            "schema_name": "s",
            "database_name": "d",
            "table_name": "t",
            "destination_id": 987654321,
        },
    )
    assert wrong_destination.status_code == 422
    assert "destination_id" in wrong_destination.json()["detail"]
    unknown_state = await client.get("/datasets", params={"states": ["gone"]})
    assert unknown_state.status_code == 422
    assert "states" in str(unknown_state.json()["detail"])


async def test_deleting_a_dataset_needs_its_name_and_takes_its_data_sources(client: Client) -> None:
    dataset = await make_dataset(client)
    source = await make_data_source(client, dataset)
    wrong = await client.request("DELETE", f"/datasets/{dataset['id']}", json={"name": "not it"})
    assert wrong.status_code == 422
    done = await ok(
        await client.request("DELETE", f"/datasets/{dataset['id']}", json={"name": dataset["name"]})
    )
    assert "deleted" in done["result"]
    assert (await client.get(f"/datasets/{dataset['id']}")).status_code == 404
    assert (await client.get(f"/data-sources/{source['id']}")).status_code == 404
    listed = await ok(await client.get("/datasets", params={"states": ["deleted"], "limit": 1000}))
    assert dataset["id"] in [d["id"] for d in listed["results"]]


async def test_datasets_page_like_alerts(client: Client) -> None:
    destination = await ok(
        await client.post("/destinations", json={"destination_type": "postgresql", "database_name": "w"})
    )
    ids = [(await make_dataset(client, destination_id=destination["id"]))["id"] for _ in range(3)]
    first = await ok(await client.get("/datasets", params={"limit": 2, "destination_id": destination["id"]}))
    assert [d["id"] for d in first["results"]] == [ids[2], ids[1]]
    assert first["previous"] is None
    assert first["next"] == {"end": ids[1] - 1, "limit": 2, "reverse": True}
    assert first["filters"] == {"states": ["active", "disabled"], "destination_id": destination["id"]}
    assert first["title"] == "Datasets"
    second = await ok(
        await client.get("/datasets", params={**first["next"], "destination_id": destination["id"]})
    )
    assert [d["id"] for d in second["results"]] == [ids[0]]
    assert second["next"] is None
    assert second["previous"] == {"start": ids[0] + 1, "limit": 2, "reverse": True}


async def test_a_destination_hides_its_password_and_keeps_it_when_sent_back(client: Client) -> None:
    assert (await ok(await client.get("/destinations/new")))["destination_type"] == "postgresql"
    created = await ok(
        await client.post(
            "/destinations",
            json={
                "name": f"dwh-{tag()}",
                "destination_type": "postgresql",
                "database_name": "warehouse",
                "host": "db.internal",
                "user": "loader",
                "port": "5432",
                "password": "s3cret",
            },
        )
    )
    assert created["password"] == "********"
    one = await ok(await client.get(f"/destinations/{created['id']}"))
    assert one["password"] == "********"
    assert one["host"] == "db.internal"
    patched = await ok(
        await client.patch(
            "/destinations", json={"id": created["id"], "password": "********", "port": "6432"}
        )
    )
    assert patched["port"] == "6432"
    assert patched["updated_at"] is not None
    refused = await client.post("/destinations", json={"destination_type": "mysql", "database_name": "x"})
    assert refused.status_code == 422


async def test_a_data_source_keeps_003s_parse_settings_and_versions(client: Client) -> None:
    dataset = await make_dataset(client)
    template = await ok(await client.get(f"/datasets/{dataset['id']}/data-sources/new"))
    assert template["dataset_id"] == dataset["id"]
    assert template["settings_model_id"] == dataset["id"]
    assert template["csv_delimiter"] is None
    assert template["state"] == "active"
    source = await make_data_source(
        client,
        dataset,
        data_source_type="s3",
        s3_bucket="landing",
        s3_secret_key="very-secret",
        csv_delimiter=";",
        null_values_override=["NA", ""],
        datetime_formats_per_column_override={"ordered_at": "%d/%m/%Y"},
    )
    assert source["dataset_id"] == dataset["id"]
    assert source["dataset_name"] == dataset["name"]
    assert source["csv_delimiter"] == ";"
    assert source["null_values_override"] == ["NA", ""]
    assert source["s3_secret_key"] == "********"
    patched = await ok(
        await client.patch(
            f"/data-sources/{source['id']}",
            json={"id": source["id"], "version_id": 0, "pattern": r".*\.csv", "s3_secret_key": "********"},
        )
    )
    assert patched["pattern"] == r".*\.csv"
    assert patched["version_id"] == 1
    assert patched["csv_delimiter"] == ";"
    history = await ok(await client.get(f"/data-sources/{source['id']}/history"))
    assert [h["version_id"] for h in history] == [0, 1]
    assert {h["s3_secret_key"] for h in history} == {"********"}
    tiny = await ok(await client.get(f"/data-sources/{source['id']}/tiny"))
    assert tiny == {
        "id": source["id"],
        "last_sync": None,
        "destination_name": None,
        "dataset_id": str(dataset["id"]),
        "unresolved_alerts": 0,
        "state": "active",
    }
    listed = await ok(await client.get("/data-sources", params={"dataset_id": dataset["id"]}))
    assert [s["id"] for s in listed["results"]] == [source["id"]]

    copy = await ok(await client.get(f"/datasets/{dataset['id']}/data-sources/{source['id']}/copy"))
    assert copy["csv_delimiter"] == ";"
    assert copy["state"] == "draft"
    copied = await ok(
        await client.post(
            f"/data-sources/{source['id']}/copy",
            json={"name": f"copy-{tag()}", "settings_model_id": dataset["id"], "s3_secret_key": "********"},
        )
    )
    assert copied["id"] != source["id"]
    assert copied["pattern"] == r".*\.csv"
    assert copied["s3_bucket"] == "landing"

    no_dataset = await client.post("/data-sources", json={"name": "x", "settings_model_id": 987654321})
    assert no_dataset.status_code == 422
    bad_type = await client.post(
        "/data-sources", json={"name": "x", "settings_model_id": dataset["id"], "data_source_type": "ftp"}
    )
    assert bad_type.status_code == 422
    deleted = await client.request("DELETE", f"/data-sources/{copied['id']}", json={"name": copied["name"]})
    assert deleted.status_code == 200


async def test_validation_info_per_field_and_the_data_sources_model(client: Client) -> None:
    dataset = await make_dataset(client)
    source = await make_data_source(client, dataset)
    path = f"/datasets/{dataset['id']}/validation_info/score"
    assert (await client.get(path)).status_code == 404
    rules = {"is_required": True, "json_schema_field_type": "number", "minimum": -100, "maximum": 200}
    assert "updated" in (await ok(await client.post(path, json=rules)))["result"]
    read = await ok(await client.get(path))
    assert read["minimum"] == -100
    assert read["maximum"] == 200
    assert read["to_include"] is True
    await ok(
        await client.post(
            f"/datasets/{dataset['id']}/validation_info/zipcode",
            json={"json_schema_field_type": "string", "limit_to_values": ["90007", "90414"]},
        )
    )
    model = await ok(await client.get(f"/data-sources/{source['id']}/validation-model"))
    assert model == [
        ["field_name", "field_type_in_db", "validation_type", "is_required", "minimum", "maximum",
         "the_only_acceptable_values"],
        ["score", "double precision", "number", True, -100, 200, None],
        ["zipcode", "text", "string", False, None, None, ["90007", "90414"]],
    ]  # fmt: skip
    inverted = await client.post(path, json={"json_schema_field_type": "number", "minimum": 5, "maximum": 1})
    assert inverted.status_code == 422
    assert "minimum" in str(inverted.json()["detail"])


async def test_a_limited_principal_sees_only_its_data_sources(client: Client) -> None:
    dataset = await make_dataset(client)
    mine = await make_data_source(client, dataset)
    other = await make_data_source(client, dataset)
    other_dataset = await make_dataset(client)
    me = limited(mine["id"])

    listed = await ok(await client.get("/data-sources", params={"limit": 1000}, headers=me))
    assert [s["id"] for s in listed["results"]] == [mine["id"]]
    assert (await client.get(f"/data-sources/{other['id']}", headers=me)).status_code == 404
    assert (await client.get(f"/data-sources/{mine['id']}", headers=me)).status_code == 200
    datasets = await ok(await client.get("/datasets", params={"limit": 1000}, headers=me))
    assert [d["id"] for d in datasets["results"]] == [dataset["id"]]
    assert (await client.get(f"/datasets/{other_dataset['id']}", headers=me)).status_code == 404
    patched = await client.patch(
        f"/data-sources/{mine['id']}",
        json={"id": mine["id"], "version_id": 0, "schedule": "0 * * * *"},
        headers=me,
    )
    assert patched.status_code == 200
    refused = await client.post(
        "/data-sources", json={"name": "x", "settings_model_id": dataset["id"]}, headers=me
    )
    assert refused.status_code == 403
    assert "limited_to_source" in refused.json()["detail"]
    assert (
        await client.post(
            "/destinations", json={"destination_type": "postgresql", "database_name": "w"}, headers=me
        )
    ).status_code == 403
    assert (await ok(await client.get("/data-sources", headers=limited())))["results"] == []

"""Ingestion's Qluster metadata end to end: a destination, a dataset and a data source created through the
gateway are read back through it (the ingestion service running as its own processes), and the warehouse
database is there for destinations to load into (the unsigned-call refusal is in test_internal_auth.py)."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e


async def test_a_dataset_destination_and_data_source_are_created_and_read_back(
    gateway: httpx.AsyncClient,
) -> None:
    tag = uuid.uuid4().hex[:8]
    destination = await gateway.post(
        "/destinations",
        json={
            "name": f"warehouse-{tag}",
            "destination_type": "postgresql",
            "database_name": "warehouse",
            "host": "127.0.0.1",
            "user": "ingestion",
            "port": "5432",
            "password": "not-shown",
        },
    )
    assert destination.status_code == 200, destination.text
    destination_id = destination.json()["id"]

    dataset = await gateway.post(
        "/datasets",
        json={
            "name": f"orders-{tag}",
            "schema_name": "sales",
            "database_name": "warehouse",
            "table_name": "orders",
            "destination_id": destination_id,
            "settings_model": {"boolean_true": ["yes", "y"]},
        },
    )
    assert dataset.status_code == 200, dataset.text
    dataset_id = dataset.json()["id"]

    source = await gateway.post(
        "/data-sources",
        json={
            "name": f"landing-{tag}",
            "settings_model_id": dataset_id,
            "data_source_type": "s3",
            "s3_bucket": "landing",
            "csv_delimiter": ";",
        },
    )
    assert source.status_code == 200, source.text
    source_id = source.json()["id"]

    read_destination = (await gateway.get(f"/destinations/{destination_id}")).json()
    assert (read_destination["name"], read_destination["password"]) == (f"warehouse-{tag}", "********")
    read_dataset = (await gateway.get(f"/datasets/{dataset_id}")).json()
    assert read_dataset["destination_id"] == destination_id
    assert read_dataset["settings_model"] == {"id": dataset_id, "version_id": 0, "boolean_true": ["yes", "y"]}
    read_source = (await gateway.get(f"/data-sources/{source_id}")).json()
    assert (read_source["dataset_id"], read_source["csv_delimiter"]) == (dataset_id, ";")
    listed = (await gateway.get("/data-sources", params={"dataset_id": dataset_id})).json()
    assert [s["id"] for s in listed["results"]] == [source_id]
    datasets = (await gateway.get("/datasets", params={"destination_id": destination_id})).json()
    assert [d["id"] for d in datasets["results"]] == [dataset_id]
    extra = (await gateway.get(f"/datasets/{dataset_id}/extra-details")).json()
    assert extra["destination_name"] == f"warehouse-{tag}"
    tiny = (await gateway.get(f"/data-sources/{source_id}/tiny")).json()
    assert tiny["destination_name"] == f"warehouse-{tag}"


async def test_the_warehouse_database_is_provisioned_for_the_ingestion_role(system: Stack) -> None:
    conn = await asyncpg.connect(system.warehouse_dsn)
    try:
        assert await conn.fetchval("SELECT current_user") == "ingestion"
        assert await conn.fetchval("SELECT current_database()") == "warehouse"
    finally:
        await conn.close()

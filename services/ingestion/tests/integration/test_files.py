"""Qluster's file path on the real Postgres and a local store: a file uploaded through the internal API (streamed
to the store), published as `file.stored`, ingested by the worker's use case into the destination, its job and
run reported; a signed upload URL used once; an unreadable file failing its job; ignore_file; kill."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.events import FileIngested, FileStored, decode_event
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.ingestion import SCHEMA
from headwater.ingestion.adapters.files import open_file
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.entrypoints.http.app import create_app
from headwater.ingestion.service_layer.ingestion_jobs import ingest_stored_file
from headwater.ingestion.settings import Settings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
CSV = b"id,name,score\n1,ann,10\n2,bob,oops\n3,cy,30\n"


@pytest.fixture
async def files_container(stack: Stack, tmp_path: Path, warehouse_dsn: str) -> AsyncIterator[Container]:
    settings = settings_on(
        stack,
        Settings,
        SCHEMA,
        object_store_url=f"file://{tmp_path / 'objects'}",
        warehouse_dsn=warehouse_dsn,
    )
    c = bootstrap(settings)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def api(stack: Stack, files_container: Container) -> AsyncIterator[Client]:
    app = create_app(bootstrap(files_container.settings))
    async with AsyncTestClient(app) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


async def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def make_source(api: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    name = f"files_{uuid.uuid4().hex[:8]}"
    dataset = await ok(
        await api.post(
            "/datasets", json={"name": name, "schema_name": name, "database_name": "w", "table_name": "rows"}
        )
    )
    for field, kind in (("id", "integer"), ("name", "string"), ("score", "number")):
        await ok(
            await api.post(
                f"/datasets/{dataset['id']}/validation_info/{field}",
                json={"json_schema_field_type": kind, "is_required": field == "id"},
            )
        )
    source = await ok(
        await api.post("/data-sources", json={"name": f"src-{name}", "settings_model_id": dataset["id"]})
    )
    return dataset, source


async def published_event(c: Container, item_id: int) -> FileStored:
    async with c.engine.connect() as conn:
        payload = (
            await conn.exec_driver_sql(
                f"SELECT payload FROM {SCHEMA}.outbox WHERE topic = 'file.stored' ORDER BY id DESC LIMIT 50"
            )
        ).all()
    events = [decode_event(bytes(p[0]), FileStored) for p in payload]
    return next(e for e in events if e.stored_item_id == item_id)


async def outbox_events(c: Container, topic: str) -> list[bytes]:
    async with c.engine.connect() as conn:
        rows = (
            await conn.exec_driver_sql(
                f"SELECT payload FROM {SCHEMA}.outbox WHERE topic = '{topic}' ORDER BY id"
            )
        ).all()
    return [bytes(r[0]) for r in rows]


async def test_an_uploaded_file_is_stored_published_and_ingested_once(
    api: Client, files_container: Container, warehouse_dsn: str
) -> None:
    dataset, source = await make_source(api)
    item = await ok(
        await api.post(
            "/stored-items/upload",
            params={
                "data_source_model_id": source["id"],
                "file_name": "orders.csv",
                "content_type": "text/csv",
            },
            content=CSV,
        )
    )
    assert item["state"] == "published"
    assert item["size"] == len(CSV)
    event = await published_event(files_container, item["id"])
    assert event.sha256 == item["sha256"]

    c = files_container
    await ingest_stored_file(
        c.uow_factory(), c.store, c.warehouses, event, default_dsn=warehouse_dsn, open_file=open_file
    )
    await ingest_stored_file(
        c.uow_factory(), c.store, c.warehouses, event, default_dsn=warehouse_dsn, open_file=open_file
    )  # again

    job = await ok(await api.get(f"/ingestion-jobs/{item['ingestion_job_id']}"))
    assert job["state"] == "finished", job
    assert (job["successful_rows_count"], job["bad_rows_count"], job["try_count"]) == (2, 1, 1)
    stored = await ok(await api.get(f"/stored-items/{item['id']}"))
    assert stored["is_ingested"] is True
    conn = await asyncpg.connect(warehouse_dsn)
    try:
        schema = dataset["schema_name"]
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".rows') == 2
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".rows__quarantine') == 1
    finally:
        await conn.close()
    ingested = [decode_event(p, FileIngested) for p in await outbox_events(c, "file.ingested")]
    mine = [e for e in ingested if e.stored_item_id == item["id"]]
    assert len(mine) == 1
    assert (mine[0].status, mine[0].rows_loaded, mine[0].rows_quarantined) == ("ok", 2, 1)
    reports = [msgspec.json.decode(p) for p in await outbox_events(c, "ingress.runs")]
    runs = [r for r in reports if r.get("pipeline_name") == dataset["name"]]
    assert [r["type"] for r in runs] == ["run.started.v1", "run.ended.v1"]
    assert runs[1]["completed_successfully"] is True
    assert runs[1]["inserts"] == 2

    listed = await ok(await api.get("/stored-items", params={"data_source_model_id": source["id"]}))
    assert [i["id"] for i in listed["results"]] == [item["id"]]
    jobs = await ok(await api.get("/ingestion-jobs", params={"dataset_id": dataset["id"]}))
    assert [j["id"] for j in jobs["results"]] == [job["id"]]

    # ignore_file drops its rows; the same bytes uploaded again are skipped.
    ignored = await ok(await api.patch("/stored-items", json={"id": item["id"], "ignore_file": True}))
    assert ignored["state"] == "ignored"
    conn = await asyncpg.connect(warehouse_dsn)
    try:
        assert await conn.fetchval(f'SELECT count(*) FROM "{schema}".rows') == 0
    finally:
        await conn.close()
    again = await ok(
        await api.post(
            "/stored-items/upload",
            params={"data_source_model_id": source["id"], "file_name": "o.csv"},
            content=CSV,
        )
    )
    assert again["state"] == "ignored"
    assert again["duplicate_of_id"] == item["id"]


async def test_a_signed_upload_url_is_used_once_and_an_empty_upload_is_refused(
    api: Client, files_container: Container
) -> None:
    _, source = await make_source(api)
    created = await ok(
        await api.post("/stored-items", json={"data_source_model_id": source["id"], "key": "a.csv"})
    )
    assert created["url"].startswith(f"/stored-items/{created['id']}/upload?token=")
    assert created["http_method"] == "PUT"
    uploaded = await ok(await api.put(created["url"], content=CSV))
    assert uploaded["state"] == "published"
    assert uploaded["is_uploaded_via_signed_url"] is True
    refused = await api.put(created["url"], content=CSV)
    assert refused.status_code == 403, refused.text
    tampered = await api.put(created["url"][:-3] + "abc", content=CSV)
    assert tampered.status_code == 403

    empty = await api.post(
        "/stored-items/upload",
        params={"data_source_model_id": source["id"], "file_name": "e.csv"},
        content=b"",
    )
    assert empty.status_code == 422, empty.text
    assert "empty" in empty.json()["detail"]
    assert (
        await api.post(
            "/stored-items/upload", params={"data_source_model_id": 10**12, "file_name": "x"}, content=CSV
        )
    ).status_code == 404


async def test_an_unreadable_file_fails_its_job_and_loads_nothing(
    api: Client, files_container: Container, warehouse_dsn: str
) -> None:
    _, source = await make_source(api)
    item = await ok(
        await api.post(
            "/stored-items/upload",
            params={"data_source_model_id": source["id"], "file_name": "bad.csv"},
            content=b"id,unknown_column\n1,2\n",
        )
    )
    c = files_container
    event = await published_event(c, item["id"])
    await ingest_stored_file(
        c.uow_factory(), c.store, c.warehouses, event, default_dsn=warehouse_dsn, open_file=open_file
    )
    job = await ok(await api.get(f"/ingestion-jobs/{item['ingestion_job_id']}"))
    assert job["state"] == "error"
    assert "unknown_column" in job["msg"]
    assert (await ok(await api.get(f"/stored-items/{item['id']}")))["state"] == "failed"
    ingested = [decode_event(p, FileIngested) for p in await outbox_events(c, "file.ingested")]
    failed = [e for e in ingested if e.stored_item_id == item["id"]]
    assert failed[0].status == "failed"
    assert "unknown_column" in (failed[0].fatal_error or "")

    # Run Ingestion Job Now on an ended job publishes the file again; a created job can be killed.
    assert (await api.post(f"/ingestion-jobs/{job['id']}/run")).status_code == 200
    current = await ok(await api.get(f"/stored-items/{item['id']}"))
    assert current["ingestion_job_id"] != job["id"]
    killed = await ok(await api.post(f"/ingestion-jobs/{current['ingestion_job_id']}/kill"))
    assert "killed" in killed["result"]
    event = await published_event(c, item["id"])
    await ingest_stored_file(
        c.uow_factory(), c.store, c.warehouses, event, default_dsn=warehouse_dsn, open_file=open_file
    )
    assert (await ok(await api.get(f"/ingestion-jobs/{current['ingestion_job_id']}")))["state"] == "killed"

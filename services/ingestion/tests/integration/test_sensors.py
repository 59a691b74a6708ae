"""Data source sensors on the real Postgres, against a local store and the moto S3 server: new and changed
objects under the prefix (of Headwater's store, or of a bucket of the user's) become stored items once (two runs
at once, a redelivered trigger); the routes; the `job.changed` each data source write publishes."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.events import FileStored, JobChanged, JobRunRequested, decode_event
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.ingestion import SCHEMA
from headwater.ingestion.adapters.storage import BucketStores, ObjectStore
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.entrypoints.http.app import create_app
from headwater.ingestion.service_layer.sensors import StoreFailed, run_requested_sensors, run_sensor
from headwater.ingestion.settings import Settings
from headwater.ingestion.testing import S3Server, new_bucket_name

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
CSV = b"id,name\n1,ann\n2,bob\n"
NO_BUCKETS = BucketStores()  # the sensors of these tests watch Headwater's own store


@pytest.fixture
async def sensor_container(stack: Stack, tmp_path: Path) -> AsyncIterator[Container]:
    c = bootstrap(settings_on(stack, Settings, SCHEMA, object_store_url=f"file://{tmp_path / 'objects'}"))
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def api(stack: Stack, sensor_container: Container) -> AsyncIterator[Client]:
    app = create_app(bootstrap(sensor_container.settings))
    async with AsyncTestClient(app) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


async def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def make_source(api: Client, **fields: Any) -> dict[str, Any]:
    name = f"sensor_{uuid.uuid4().hex[:8]}"
    dataset = await ok(
        await api.post(
            "/datasets", json={"name": name, "schema_name": name, "database_name": "w", "table_name": "rows"}
        )
    )
    body = {"name": f"src-{name}", "settings_model_id": dataset["id"], "data_source_type": "s3", **fields}
    return await ok(await api.post("/data-sources", json=body))


async def put(store: ObjectStore, key: str, data: bytes) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        if data:
            yield data

    await store.put(key, chunks())


async def outbox(c: Container, topic: str) -> list[bytes]:
    async with c.engine.connect() as conn:
        rows = (
            await conn.exec_driver_sql(
                f"SELECT payload FROM {SCHEMA}.outbox WHERE topic = '{topic}' ORDER BY id"
            )
        ).all()
    return [bytes(r[0]) for r in rows]


async def job_changes(c: Container, data_source_id: int) -> list[JobChanged]:
    events = [decode_event(p, JobChanged) for p in await outbox(c, "job.changed")]
    return [e for e in events if e.data_source_id == data_source_id]


async def stored_events(c: Container, data_source_id: int) -> list[FileStored]:
    events = [decode_event(p, FileStored) for p in await outbox(c, "file.stored")]
    return [e for e in events if e.data_source_id == data_source_id]


@pytest.mark.parametrize("store_kind", ["local", "s3"], indirect=True)
async def test_new_and_changed_objects_become_stored_items_once(
    api: Client, sensor_container: Container, object_store: ObjectStore
) -> None:
    prefix = f"incoming/{uuid.uuid4().hex[:8]}"
    source = await make_source(api, schedule="*/5 * * * *", s3_prefix=prefix, pattern=r".*\.csv")
    ds = source["id"]
    await put(object_store, f"{prefix}/a.csv", CSV)
    await put(object_store, f"{prefix}/notes.txt", b"not a csv")
    await put(object_store, f"{prefix}/empty.csv", b"")
    await put(
        object_store, f"{prefix}-elsewhere/b.csv", CSV
    )  # shares the prefix's characters, not its folder
    uow = sensor_container.uow_factory

    first, second = await asyncio.gather(
        run_sensor(uow(), object_store, ds, buckets=NO_BUCKETS),
        run_sensor(uow(), object_store, ds, buckets=NO_BUCKETS),
    )
    stored = first.stored_item_ids + second.stored_item_ids
    assert len(stored) == 1, (first, second)
    assert first.listed == 3
    events = await stored_events(sensor_container, ds)
    assert [e.stored_item_id for e in events] == stored
    assert events[0].sha256 == hashlib.sha256(CSV).hexdigest()
    assert events[0].file_name == "a.csv"
    assert events[0].object_key.startswith(f"data-sources/{ds}/sensor/")
    chunks = [c async for c in object_store.open(events[0].object_key)]
    assert b"".join(chunks) == CSV

    again = await run_sensor(uow(), object_store, ds, buckets=NO_BUCKETS)
    assert (again.new, again.stored_item_ids) == (0, [])

    changed = CSV + b"3,cy\n"
    await put(object_store, f"{prefix}/a.csv", changed)
    after_change = await run_sensor(uow(), object_store, ds, buckets=NO_BUCKETS)
    assert len(after_change.stored_item_ids) == 1
    latest = (await stored_events(sensor_container, ds))[-1]
    assert latest.stored_item_id == after_change.stored_item_ids[0]
    assert latest.sha256 == hashlib.sha256(changed).hexdigest()
    assert latest.object_key != events[0].object_key


@pytest.mark.parametrize("store_kind", ["local"], indirect=True)
async def test_a_redelivered_run_request_runs_the_sensor_once(
    api: Client, sensor_container: Container, object_store: ObjectStore
) -> None:
    prefix = f"drop/{uuid.uuid4().hex[:8]}"
    source = await make_source(api, schedule="0 * * * *", s3_prefix=prefix)
    ds = source["id"]
    request = JobRunRequested(job=f"sensor-{ds}", kind="sensor", data_source_id=ds, due_at=source_time())
    await put(object_store, f"{prefix}/one.csv", CSV)
    assert (
        await run_requested_sensors(
            sensor_container.uow_factory(), object_store, [request], buckets=NO_BUCKETS
        )
        == []
    )
    assert len(await stored_events(sensor_container, ds)) == 1

    await put(object_store, f"{prefix}/two.csv", CSV + b"9,zed\n")
    await run_requested_sensors(
        sensor_container.uow_factory(), object_store, [request], buckets=NO_BUCKETS
    )  # redelivered
    assert len(await stored_events(sensor_container, ds)) == 1

    later = JobRunRequested(job=f"sensor-{ds}", kind="sensor", data_source_id=ds, due_at=source_time())
    other_kind = JobRunRequested(job="sync-1", kind="sync", due_at=source_time())
    await run_requested_sensors(
        sensor_container.uow_factory(), object_store, [other_kind, later], buckets=NO_BUCKETS
    )
    assert [e.file_name for e in await stored_events(sensor_container, ds)] == ["one.csv", "two.csv"]

    # a data source deleted since is skipped, not dead-lettered
    await ok(await api.request("DELETE", f"/data-sources/{ds}", json={"name": source["name"]}))
    gone = JobRunRequested(job=f"sensor-{ds}", kind="sensor", data_source_id=ds, due_at=source_time())
    assert (
        await run_requested_sensors(sensor_container.uow_factory(), object_store, [gone], buckets=NO_BUCKETS)
        == []
    )


def source_time() -> datetime:
    return datetime.now(UTC)


async def test_sensor_routes_and_the_job_changes_they_publish(
    api: Client, sensor_container: Container, stack: Stack
) -> None:
    prefix = f"routes/{uuid.uuid4().hex[:8]}"
    store = sensor_container.store
    source = await make_source(api, schedule=" */10  * * * * ", s3_prefix=prefix)
    ds = source["id"]
    await put(store, f"{prefix}/x.csv", CSV)

    ran = await ok(await api.post(f"/data-sources/{ds}/run-sensor-job-now"))
    assert ran["job_name"] == f"sensor-{ds}"
    assert (ran["listed"], ran["new"], len(ran["stored_item_ids"])) == (1, 1, 1)
    assert "1 new file(s)" in ran["result"]
    item = await ok(await api.get(f"/stored-items/{ran['stored_item_ids'][0]}"))
    assert item["data_source_model_id"] == ds
    assert (await ok(await api.post(f"/data-sources/{ds}/run-sensor-job-now")))["stored_item_ids"] == []

    assert (await ok(await api.post(f"/data-sources/{ds}/run-sensor-cronjob-now")))[
        "job_name"
    ] == f"sensor-{ds}"
    disabled = await ok(await api.post(f"/data-sources/{ds}/disable-sensor-cronjob-now"))
    assert disabled["result"] == f"sensor cronjob sensor-{ds} disabled"
    refused = await api.post(f"/data-sources/{ds}/run-sensor-cronjob-now")
    assert refused.status_code == 409
    assert "disabled" in refused.text

    bad = await api.patch(f"/data-sources/{ds}", json={"id": ds, "version_id": 0, "schedule": "every day"})
    assert bad.status_code == 422
    assert "schedule" in bad.text
    bad = await api.patch(f"/data-sources/{ds}", json={"id": ds, "version_id": 0, "pattern": "(unclosed"})
    assert bad.status_code == 422
    assert "pattern" in bad.text
    saved = await ok(
        await api.patch(f"/data-sources/{ds}", json={"id": ds, "version_id": 0, "schedule": "0 2 * * *"})
    )
    assert (await ok(await api.post(f"/data-sources/{ds}/run-sensor-cronjob-now")))[
        "job_name"
    ] == f"sensor-{ds}"
    await ok(await api.request("DELETE", f"/data-sources/{ds}", json={"name": saved["name"]}))

    changes = await job_changes(sensor_container, ds)
    assert [(c.version, c.cron, c.enabled, c.removed) for c in changes] == [
        (1, "*/10 * * * *", True, False),
        (2, "*/10 * * * *", False, False),
        (3, "0 2 * * *", True, False),
        (4, None, False, True),
    ]
    assert {c.job for c in changes} == {f"sensor-{ds}"}

    assert (await api.post(f"/data-sources/{ds}/run-sensor-job-now")).status_code == 404
    plain = await make_source(api)
    no_prefix = await api.post(f"/data-sources/{plain['id']}/run-sensor-job-now")
    assert no_prefix.status_code == 422
    assert "s3_prefix" in no_prefix.text
    assert (await api.post(f"/data-sources/{plain['id']}/run-sensor-cronjob-now")).status_code == 409
    assert await job_changes(sensor_container, plain["id"]) == []
    own_area = await api.post(
        "/data-sources",
        json={"name": "x", "settings_model_id": plain["settings_model_id"], "s3_prefix": "data-sources/1"},
    )
    assert own_area.status_code == 422


async def test_a_sensor_watches_a_bucket_of_the_users_and_takes_each_version_of_an_object_once(
    api: Client, sensor_container: Container, s3_server: S3Server
) -> None:
    bucket = new_bucket_name("user")
    s3_server.create_bucket(bucket)
    users = ObjectStore(s3_server.store(bucket))  # the user's own bucket, written as the user would
    source = await make_source(
        api,
        schedule="*/5 * * * *",
        s3_bucket=bucket,
        s3_prefix="landing/",
        s3_endpoint_url=s3_server.endpoint,
        s3_region_name=s3_server.region,
        s3_access_key=s3_server.access_key_id,
        s3_secret_key=s3_server.secret_access_key,
        pattern=r".*\.csv",
    )
    assert source["s3_secret_key"] == "********"
    ds = source["id"]
    await put(users, "landing/a.csv", CSV)
    await put(users, "landing/notes.txt", b"not a csv")
    await put(users, "elsewhere/b.csv", CSV)
    # the same key in Headwater's own store is another object: never mistaken for the user's
    await put(sensor_container.store, "landing/a.csv", b"id,name\n9,own\n")
    store, uow = sensor_container.store, sensor_container.uow_factory
    buckets = BucketStores(allowed_endpoints=[s3_server.endpoint + "/"])

    first, second = await asyncio.gather(
        run_sensor(uow(), store, ds, buckets=buckets), run_sensor(uow(), store, ds, buckets=buckets)
    )
    stored = first.stored_item_ids + second.stored_item_ids
    assert len(stored) == 1, (first, second)
    assert (first.listed, first.new) == (2, 1)
    [event] = await stored_events(sensor_container, ds)
    assert (event.stored_item_id, event.file_name) == (stored[0], "a.csv")
    assert (event.size, event.sha256) == (len(CSV), hashlib.sha256(CSV).hexdigest())
    assert event.object_key.startswith(f"data-sources/{ds}/sensor/")
    assert b"".join([c async for c in store.open(event.object_key)]) == CSV  # copied into Headwater's store
    item = await ok(await api.get(f"/stored-items/{event.stored_item_id}"))
    assert (item["size"], item["sha256"], item["state"]) == (len(CSV), event.sha256, "published")

    again = await run_sensor(uow(), store, ds, buckets=buckets)
    assert (again.listed, again.new, again.stored_item_ids) == (2, 0, [])

    # A changed object (another ETag) is another file: taken once more, as its own stored item.
    changed = CSV + b"3,cy\n"
    await put(users, "landing/a.csv", changed)
    after_change, racing = await asyncio.gather(
        run_sensor(uow(), store, ds, buckets=buckets), run_sensor(uow(), store, ds, buckets=buckets)
    )
    assert len(after_change.stored_item_ids + racing.stored_item_ids) == 1
    latest = (await stored_events(sensor_container, ds))[-1]
    assert latest.sha256 == hashlib.sha256(changed).hexdigest()
    assert latest.object_key != event.object_key
    assert len(await stored_events(sensor_container, ds)) == 2

    # a scheduled run (the scheduler's request) goes through the same path and finds nothing new
    await put(users, "landing/c.csv", CSV + b"4,dee\n")
    request = JobRunRequested(job=f"sensor-{ds}", kind="sensor", data_source_id=ds, due_at=source_time())
    await run_requested_sensors(uow(), store, [request], buckets=buckets)
    assert [e.file_name for e in await stored_events(sensor_container, ds)] == ["a.csv", "a.csv", "c.csv"]

    # the service's own settings allow no endpoint: the route refuses to reach it, saying which setting
    refused = await api.post(f"/data-sources/{ds}/run-sensor-job-now")
    assert refused.status_code == 422, refused.text
    assert "HEADWATER_INGESTION_SENSOR_S3_ENDPOINTS" in refused.json()["detail"]


async def test_a_bucket_that_cannot_be_read_fails_the_run_and_is_skipped_when_scheduled(
    api: Client, sensor_container: Container, s3_server: S3Server
) -> None:
    source = await make_source(
        api, schedule="0 * * * *", s3_bucket=new_bucket_name("missing"), s3_endpoint_url=s3_server.endpoint
    )
    ds = source["id"]
    buckets = BucketStores(allowed_endpoints=[s3_server.endpoint])
    with pytest.raises(StoreFailed, match="could not read s3://hw-missing-"):
        await run_sensor(sensor_container.uow_factory(), sensor_container.store, ds, buckets=buckets)
    request = JobRunRequested(job=f"sensor-{ds}", kind="sensor", data_source_id=ds, due_at=source_time())
    assert (
        await run_requested_sensors(
            sensor_container.uow_factory(), sensor_container.store, [request], buckets=buckets
        )
        == []
    )
    assert await stored_events(sensor_container, ds) == []

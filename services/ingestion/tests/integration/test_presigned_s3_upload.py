"""The ingestion service on an S3 store (moto's S3 server), run as it is deployed: the internal API, and the
`worker` command as a process of its own on the real broker. A file PUT with plain HTTP to the pre-signed URL
of a stored item, then published, is loaded: good rows in the destination, bad rows quarantined.

The service gets a database and topics of its own (a scratch database migrated to head, a topic prefix), so
its worker consumes nothing of the other tests of the session and they see nothing of it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.service import migrate_service
from headwater.common.testing import eventually
from headwater.devstack import procs
from headwater.devstack.kafka import create_topics
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, scratch_database, settings_on
from headwater.ingestion import SCHEMA
from headwater.ingestion.bootstrap import bootstrap
from headwater.ingestion.entrypoints.http.app import create_app
from headwater.ingestion.settings import Settings
from headwater.ingestion.testing import S3Server, new_bucket_name

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
CSV = b"id,name,score\n1,ann,10\n2,bob,oops\n3,cy,30\n,nobody,40\n5,eve,50.5\n"


class S3Service:
    """The service's settings on an S3 store, and its worker process."""

    def __init__(self, settings: Settings, env: dict[str, str], workdir: Path, bucket_url: str) -> None:
        self.settings = settings
        self.bucket_url = bucket_url
        self.env = env
        self.pidfile = workdir / "worker.pid"
        self.logfile = workdir / "worker.log"

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")[-4000:] if self.logfile.exists() else ""


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, s3_server: S3Server) -> dict[str, str]:
    """The service reads an S3 store's credentials as every AWS client does: from AWS_* variables."""
    credentials = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
    }
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    return credentials


@pytest.fixture
async def s3_service(
    stack: Stack,
    s3_server: S3Server,
    aws_credentials: dict[str, str],
    warehouse_dsn: str,
    tmp_path: Path,
) -> AsyncIterator[S3Service]:
    bucket = new_bucket_name("presigned")
    s3_server.create_bucket(bucket)
    store_url = (
        f"s3://{bucket}/uploads?endpoint={s3_server.endpoint}&region={s3_server.region}&allow_http=true"
    )
    prefix = f"t{uuid.uuid4().hex[:8]}."
    await create_topics(stack.kafka_bootstrap, prefix=prefix, partitions=1)
    async with scratch_database(stack, SCHEMA) as (_, dsn):
        await migrate_service("headwater.ingestion", dsn)
        group = f"ingestion-{prefix}"
        settings = settings_on(
            stack,
            Settings,
            SCHEMA,
            database_url=dsn,
            topic_prefix=prefix,
            consumer_group=group,
            object_store_url=store_url,
            warehouse_dsn=warehouse_dsn,
        )
        env = stack.service_env() | aws_credentials
        env |= {
            "HEADWATER_INGESTION_DATABASE_URL": dsn,
            "HEADWATER_TOPIC_PREFIX": prefix,
            "HEADWATER_INGESTION_CONSUMER_GROUP": group,
            "HEADWATER_INGESTION_OBJECT_STORE_URL": store_url,
            "HEADWATER_INGESTION_WAREHOUSE_DSN": warehouse_dsn,
            "HEADWATER_INGESTION_WORKER_METRICS_PORT": "0",
            "HEADWATER_LOG_JSON": "false",
        }
        service = S3Service(settings, env, tmp_path, f"{s3_server.endpoint}/{bucket}")
        worker = procs.spawn(
            [sys.executable, "-m", "headwater.ingestion", "worker"],
            pidfile=service.pidfile,
            logfile=service.logfile,
            env=env,
        )
        try:
            yield service
        finally:
            procs.stop(service.pidfile, timeout=20)
            worker.wait(timeout=10)


@pytest.fixture
async def api(stack: Stack, s3_service: S3Service) -> AsyncIterator[Client]:
    app = create_app(bootstrap(s3_service.settings))
    async with AsyncTestClient(app) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


async def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def destination_of(dsn: str) -> dict[str, Any]:
    """A 003 destination reaching the database of `dsn`."""
    parts = urlsplit(dsn)
    return {
        "name": f"dwh-{uuid.uuid4().hex[:6]}",
        "destination_type": "postgresql",
        "host": parts.hostname,
        "port": str(parts.port or 5432),
        "user": parts.username,
        "password": parts.password or "trust",  # the embedded server trusts local users
        "database_name": parts.path.lstrip("/"),
    }


@pytest.fixture
def worker_log(s3_service: S3Service) -> Iterator[S3Service]:
    """The worker's log, printed when the test fails (what it did with the file)."""
    yield s3_service
    print(s3_service.log())


async def test_a_file_put_to_the_presigned_url_is_loaded_and_its_bad_rows_quarantined(
    api: Client, worker_log: S3Service, warehouse_dsn: str
) -> None:
    destination = await ok(await api.post("/destinations", json=destination_of(warehouse_dsn)))
    schema = f"s3_{uuid.uuid4().hex[:8]}"
    dataset = await ok(
        await api.post(
            "/datasets",
            json={
                "name": schema,
                "schema_name": schema,
                "database_name": destination["database_name"],
                "table_name": "scores",
                "destination_id": destination["id"],
            },
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
        await api.post(
            "/data-sources",
            json={"name": f"src-{schema}", "settings_model_id": dataset["id"], "data_source_type": "s3"},
        )
    )

    created = await ok(
        await api.post("/stored-items", json={"data_source_model_id": source["id"], "key": "in/scores.csv"})
    )
    url = created["url"]
    assert url.startswith(f"{worker_log.bucket_url}/uploads/data-sources/{source['id']}/"), url
    assert "X-Amz-Signature=" in url
    assert created["http_method"] == "PUT"

    early = await api.post(f"/stored-items/{created['id']}/publish")
    assert early.status_code == 422, early.text  # nothing uploaded yet
    assert "PUT the file" in early.json()["detail"]

    # no Headwater credentials: the URL is the credential (moto checks a signature's form, not its value)
    async with httpx.AsyncClient(timeout=30) as plain:
        put = await plain.put(url, content=CSV)
        assert put.status_code == 200, put.text

    published = await ok(await api.post(f"/stored-items/{created['id']}/publish"))
    job_id = published["ingestion_job_id"]

    async def ingested() -> dict[str, Any]:
        item = await ok(await api.get(f"/stored-items/{created['id']}"))
        assert item["state"] == "ingested", (item["state"], worker_log.log())
        return item

    item = await eventually(ingested, timeout=90, interval=0.5)
    assert item["size"] == len(CSV)
    assert item["is_uploaded_via_signed_url"] is True
    assert (item["successful_rows_count"], item["bad_rows_count"]) == (3, 2)
    job = await ok(await api.get(f"/ingestion-jobs/{job_id}"))
    assert (job["state"], job["try_count"]) == ("finished", 1)
    # published again: the job it has, nothing loaded twice
    assert (await ok(await api.post(f"/stored-items/{created['id']}/publish")))["ingestion_job_id"] == job_id

    conn = await asyncpg.connect(warehouse_dsn)
    try:
        good = await conn.fetch(f'SELECT id, name, score FROM "{schema}".scores ORDER BY id')
        bad = await conn.fetch(
            f"SELECT _line_number, _row->>'name' AS name FROM \"{schema}\".scores__quarantine ORDER BY 1"
        )
    finally:
        await conn.close()
    assert [tuple(r) for r in good] == [(1, "ann", 10.0), (3, "cy", 30.0), (5, "eve", 50.5)]
    assert [r["name"] for r in bad] == ["bob", "nobody"]

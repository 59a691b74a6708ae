"""The OLake UI's calls (v0.0.5, recorded from its code) through the gateway only, as the browser makes them:
a session cookie from /login sent with `Authorization: Bearer authenticated` and an Origin (CORS headers on
every answer, errors included); telemetry id, versions, forms; a source tested (closed port: FAILED with a
message; right: SUCCEEDED) and discovered on a Postgres database the test makes; a job with its source and
destination embedded, synced now, its tasks polled until Completed, its logs read by file_path; the lists with
the keys the UI reads; pause and resume; deletes (a used source refused); 404s in the envelope."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from headwater.devstack.stack import Stack
from headwater.devstack.testing import ADMIN_PASSWORD, free_port

pytestmark = pytest.mark.e2e

ORIGIN = "http://localhost:8000"
P = "/api/v1/project/123"
SYNC_SECONDS = 120.0


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers.get("access-control-allow-origin") == ORIGIN, response.headers
    assert response.headers.get("access-control-allow-credentials") == "true"
    body = response.json()
    assert body["success"] is (status < 400), body
    return body.get("data")


def refused(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers.get("access-control-allow-origin") == ORIGIN, response.headers
    body = response.json()
    assert body["success"] is False, body
    assert body["message"], body
    return body["message"]


@pytest.fixture
async def ui(system: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The UI's HTTP client: the literal Bearer value it sends after login, JSON, the UI's origin."""
    headers = {
        "authorization": "Bearer authenticated",
        "origin": ORIGIN,
        "accept": "application/json",
        "content-type": "application/json",  # on every call, DELETE included (the UI's axios defaults)
    }
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60, headers=headers) as client:
        yield client


@pytest.fixture
async def databases(system: Stack) -> tuple[str, str]:
    """A source database with `public.users` (3 rows) and an empty destination database on the stack's
    Postgres."""
    tag = uuid.uuid4().hex[:8]
    source, destination = f"olake_src_{tag}", f"olake_dst_{tag}"
    admin = await asyncpg.connect(_dsn(system, "postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {source}")
        await admin.execute(f"CREATE DATABASE {destination}")
    finally:
        await admin.close()
    db = await asyncpg.connect(_dsn(system, source))
    try:
        await db.execute(
            "CREATE TABLE users (id integer PRIMARY KEY, email text, updated_at timestamptz NOT NULL DEFAULT now())"
        )
        await db.execute("INSERT INTO users (id, email) VALUES (1, 'a@x.io'), (2, 'b@x.io'), (3, 'c@x.io')")
    finally:
        await db.close()
    return source, destination


def _dsn(system: Stack, database: str) -> str:
    parts = urlsplit(system.admin_dsn)
    return parts._replace(path=f"/{database}").geturl()


def _pg_config(system: Stack, database: str, *, port: int | None = None) -> dict[str, Any]:
    parts = urlsplit(system.admin_dsn)
    return {
        "host": parts.hostname,
        "port": port or parts.port,
        "database": database,
        "username": parts.username,
        "password": parts.password or "",
        "ssl": {"mode": "disable"},
    }


async def test_the_ui_flow(ui: httpx.AsyncClient, system: Stack, databases: tuple[str, str]) -> None:
    source_db, destination_db = databases
    # A preflight to any path, known or not, answers without credentials.
    preflight = await ui.options(f"{P}/no-such-thing", headers={"access-control-request-method": "GET"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN

    # Login: a wrong password is 400 "Invalid credentials" (a 401 would reload the UI's login page).
    assert refused(await ui.post("/login", json={"username": "admin", "password": "wrong-pass"}), 400) == (
        "Invalid credentials"
    )
    assert data(await ui.post("/login", json={"username": "admin", "password": ADMIN_PASSWORD}))[
        "username"
    ] == ("admin")
    assert re.fullmatch(r"[0-9a-f]{32}", data(await ui.get("/telemetry-id"))["user_id"])

    # Versions (the trailing slash the UI sends, a destination label with a space), forms.
    assert data(await ui.get(f"{P}/sources/versions/?type=postgres"))["version"] == ["latest"]
    assert data(await ui.get(f"{P}/destinations/versions/?type=amazon%20s3"))["version"] == ["latest"]
    spec = data(await ui.post(f"{P}/sources/spec", json={"type": "postgres", "version": "latest"}))["spec"]
    assert spec["properties"]["host"]["order"] == 1
    assert "password" in spec["required"]
    assert spec["properties"]["password"]["format"] == "password"
    s3 = data(
        await ui.post(f"{P}/destinations/spec", json={"type": "s3", "version": "latest", "catalog": "none"})
    )
    assert s3["spec"]["properties"]["type"]["default"] == "PARQUET"
    assert s3["uiSchema"]["type"]
    iceberg = data(
        await ui.post(
            f"{P}/destinations/spec", json={"type": "iceberg", "version": "latest", "catalog": "jdbc"}
        )
    )
    assert iceberg["spec"]["properties"]["writer"]["properties"]["catalog_type"]["default"] == "jdbc"
    assert iceberg["uiSchema"]["writer"]["catalog_type"] == {"ui:widget": "hidden"}
    refused(await ui.post(f"{P}/sources/spec", json={"type": "kafka", "version": "latest"}), 400)

    # Test connection: a closed port fails with a message the UI shows; the right one succeeds.
    closed = _pg_config(system, source_db, port=free_port())
    test = {"type": "postgres", "version": "latest", "config": json.dumps(closed)}
    failed = data(await ui.post(f"{P}/sources/test", json=test))
    assert failed["status"] == "FAILED"
    assert failed["message"]
    config = json.dumps(_pg_config(system, source_db))
    assert data(await ui.post(f"{P}/sources/test", json=test | {"config": config}))["status"] == "SUCCEEDED"
    bad = data(await ui.post(f"{P}/sources/test", json=test | {"config": "{not json"}))
    assert bad["status"] == "FAILED"
    assert "JSON" in bad["message"]

    # Discovery: OLake's catalog, every stream selected.
    catalog = data(
        await ui.post(
            f"{P}/sources/streams",
            json={"name": "pg", "type": "postgres", "job_id": -1, "version": "latest", "config": config},
        )
    )
    users = next(s["stream"] for s in catalog["streams"] if s["stream"]["name"] == "users")
    assert users["namespace"] == "public"
    assert users["source_defined_primary_key"] == ["id"]
    assert set(users["type_schema"]["properties"]) == {"id", "email", "updated_at"}
    assert {"stream_name": "users", "partition_regex": "", "normalization": False} in catalog[
        "selected_streams"
    ]["public"]

    # A job with its source and destination embedded (got or created by name).
    tag = uuid.uuid4().hex[:6]
    parts = urlsplit(system.admin_dsn)
    destination_config = {
        "host": parts.hostname,
        "port": parts.port,
        "database": destination_db,
        "username": parts.username,
        "password": parts.password or "",
        "ssl": "disable",
    }
    streams_config = json.dumps(catalog)
    job_body = {
        "name": f"pg-to-pg-{tag}",
        "source": {"name": f"pg-{tag}", "type": "postgres", "version": "latest", "config": config},
        "destination": {
            "name": f"dst-{tag}",
            "type": "postgres",
            "version": "latest",
            "config": json.dumps(destination_config),
        },
        "streams_config": streams_config,
        "frequency": "1-hours",
    }
    refused(await ui.post(f"{P}/jobs", json=job_body | {"frequency": "every-day"}), 400)
    refused(await ui.post(f"{P}/jobs", json=job_body | {"streams_config": "{oops"}), 400)
    data(await ui.post(f"{P}/jobs", json=job_body))
    jobs = data(await ui.get(f"{P}/jobs"))
    job = next(j for j in jobs if j["name"] == job_body["name"])
    assert isinstance(job["id"], int)
    assert job["activate"] is True
    assert job["frequency"] == "1-hours"
    assert job["streams_config"] == streams_config
    assert job["source"]["name"] == f"pg-{tag}"
    assert job["source"]["type"] == "postgres"
    if parts.password:  # a secret is masked in every answer (the stack's Postgres may trust local users)
        assert json.loads(job["source"]["config"])["password"] == "********"
    assert json.loads(job["destination"]["config"])["database"] == destination_db
    assert "last_run_time" not in job
    job_id = job["id"]

    # Sync now, then the history page's polling until the run completes.
    data(await ui.post(f"{P}/jobs/{job_id}/sync", json={}))
    deadline = time.monotonic() + SYNC_SECONDS
    tasks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        tasks = data(await ui.get(f"{P}/jobs/{job_id}/tasks"))
        if tasks and tasks[0]["status"] in ("Completed", "Failed", "Cancelled"):
            break
        await asyncio.sleep(1.0)
    assert tasks, "no run"
    assert tasks[0]["status"] == "Completed", tasks
    task = tasks[0]
    assert isinstance(task["start_time"], str)
    assert re.fullmatch(r"(\d+h)?(\d+m)?\d+s", task["runtime"])
    logs = data(await ui.post(f"{P}/jobs/{job_id}/tasks/1/logs", json={"file_path": task["file_path"]}))
    assert logs
    assert all(set(x) == {"level", "time", "message"} and isinstance(x["message"], str) for x in logs)
    assert all(x["level"] != "debug" for x in logs)
    assert data(await ui.get(f"{P}/jobs/{job_id}/task/{task['file_path']}/logs"))["task_logs"] == logs
    refused(await ui.post(f"{P}/jobs/{job_id}/tasks/1/logs", json={"file_path": "no-such-run"}), 404)
    db = await asyncpg.connect(_dsn(system, destination_db))
    try:
        assert await db.fetchval("SELECT count(*) FROM public.users") == 3
    finally:
        await db.close()

    # The lists with the keys the UI reads.
    sources = data(await ui.get(f"{P}/sources"))
    source = next(s for s in sources if s["name"] == f"pg-{tag}")
    assert json.loads(source["config"])["host"] == parts.hostname
    [used_by] = source["jobs"]
    assert used_by["id"] == job_id
    assert used_by["activate"] is True
    assert used_by["destination_name"] == f"dst-{tag}"
    assert used_by["destination_type"] == "postgres"
    assert used_by["last_run_state"] == "Completed"
    assert used_by["last_run_time"].endswith("Z")
    destinations = data(await ui.get(f"{P}/destinations"))
    destination = next(d for d in destinations if d["name"] == f"dst-{tag}")
    assert destination["type"] == "postgres"
    assert isinstance(destination["config"], str)
    assert destination["jobs"][0]["source_name"] == f"pg-{tag}"
    assert destination["jobs"][0]["source_type"] == "postgres"
    job = next(j for j in data(await ui.get(f"{P}/jobs")) if j["id"] == job_id)
    assert job["last_run_state"] == "Completed"
    assert [j["id"] for j in data(await ui.get(f"{P}/jobs?source_id={source['id']}"))] == [job_id]
    assert data(await ui.get(f"{P}/jobs?dest_id={destination['id'] + 10_000}")) == []

    # Pause and resume.
    assert data(await ui.post(f"{P}/jobs/{job_id}/activate", json={"activate": False})) == {"activate": False}
    assert next(j for j in data(await ui.get(f"{P}/jobs")) if j["id"] == job_id)["activate"] is False
    data(await ui.post(f"{P}/jobs/{job_id}/activate", json={"activate": True}))
    assert next(j for j in data(await ui.get(f"{P}/jobs")) if j["id"] == job_id)["activate"] is True

    # The edit wizard's PUT, twice (idempotent): the embedded source is updated in place (the mask kept).
    edit = job_body | {"activate": True, "source": job["source"] | {"config": job["source"]["config"]}}
    for _ in range(2):
        data(await ui.put(f"{P}/jobs/{job_id}", json=edit))
    again = data(await ui.post(f"{P}/sources/test", json={"type": "postgres", "config": config}))
    assert again["status"] == "SUCCEEDED"

    # Deletes: a used source is refused; the job, then the source.
    assert "used by" in refused(await ui.delete(f"{P}/sources/{source['id']}"), 409)
    assert data(await ui.delete(f"{P}/jobs/{job_id}")) == {"name": job_body["name"]}
    assert data(await ui.delete(f"{P}/sources/{source['id']}")) == {"name": f"pg-{tag}"}
    assert all(s["id"] != source["id"] for s in data(await ui.get(f"{P}/sources")))

    # Not found, in the envelope with the CORS headers; a path no route serves too.
    refused(await ui.get(f"{P}/jobs/{job_id}/tasks"), 404)
    refused(await ui.get(f"{P}/no-such-thing"), 404)
    unknown = await ui.get("/definitely/not/here")
    assert unknown.status_code == 404
    assert unknown.headers["access-control-allow-origin"] == ORIGIN

"""A Watcher client's view: pipelines and runs through the gateway, and the events they produce."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from headwater.common.testing import TopicCollector

pytestmark = pytest.mark.e2e


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


async def create_pipeline(gateway: httpx.AsyncClient, **fields: Any) -> int:
    body = {"name": unique("Pipeline"), "pipeline_type_name": "extraction", **fields}
    r = await gateway.post("/pipeline", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_pipeline_upsert_get_list_patch(gateway: httpx.AsyncClient) -> None:
    name = unique("My Pipeline")
    body = {
        "name": name,
        "pipeline_type_name": "Extraction",
        "next_watermark": "2024-01-02T00:00:00Z",
        "pipeline_metadata": {"Description": "Daily Extraction"},
        "freshness_number": 24,
        "freshness_datepart": "hour",
        "timeliness_number": 2,
        "timeliness_datepart": "hour",
    }
    r = await gateway.post("/pipeline", json=body)
    assert r.status_code == 201
    pid = r.json()["id"]
    assert r.json() == {"id": pid, "active": True, "load_lineage": True, "watermark": None}
    r = await gateway.post("/pipeline", json=body)
    assert r.status_code == 200
    assert r.json() == {"id": pid, "active": True, "load_lineage": True, "watermark": None}

    got = (await gateway.get(f"/pipeline/{pid}")).json()
    assert got["name"] == name.lower()
    assert got["next_watermark"] == "2024-01-02T00:00:00Z"
    assert got["pipeline_metadata"] == {"Description": "Daily Extraction"}
    expected_fields = {
        "id",
        "name",
        "pipeline_type_id",
        "watermark",
        "next_watermark",
        "pipeline_metadata",
        "last_target_insert",
        "last_target_update",
        "last_target_soft_delete",
        "freshness_number",
        "freshness_datepart",
        "mute_freshness_check",
        "timeliness_number",
        "timeliness_datepart",
        "mute_timeliness_check",
        "load_lineage",
        "active",
        "created_at",
        "updated_at",
    }
    assert set(got) == expected_fields
    assert any(p["id"] == pid for p in (await gateway.get("/pipeline")).json())

    r = await gateway.patch("/pipeline", json={"id": pid, "mute_freshness_check": True, "active": False})
    assert r.status_code == 200
    assert (r.json()["mute_freshness_check"], r.json()["active"]) == (True, False)

    types = (await gateway.get("/pipeline_type")).json()
    extraction = next(t for t in types if t["name"] == "extraction")
    assert (await gateway.get(f"/pipeline_type/{extraction['id']}")).json()["name"] == "extraction"
    r = await gateway.post("/pipeline_type", json={"name": "EXTRACTION"})
    assert (r.status_code, r.json()) == (200, {"id": extraction["id"]})


async def test_run_start_end_get_with_computed_fields_and_event(
    gateway: httpx.AsyncClient, events: TopicCollector
) -> None:
    pid = await create_pipeline(gateway, next_watermark=100, freshness_number=1, freshness_datepart="day")
    r = await gateway.post(
        "/start_pipeline_execution", json={"pipeline_id": pid, "start_date": "2024-01-01T10:00:00Z"}
    )
    assert r.status_code == 201
    eid = r.json()["id"]
    trace_id = uuid.uuid4().hex
    r = await gateway.post(
        "/end_pipeline_execution",
        headers={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"},
        json={
            "id": eid,
            "end_date": "2024-01-01T10:05:00Z",
            "completed_successfully": True,
            "total_rows": 1000,
            "inserts": 800,
            "updates": 200,
            "soft_deletes": 0,
            "execution_metadata": {"partition": "2025-01-05"},
        },
    )
    assert r.status_code == 204
    # read-your-writes: the moved watermark is visible as soon as the 204 is
    pipeline = (await gateway.get(f"/pipeline/{pid}")).json()
    assert pipeline["watermark"] == "100"
    assert pipeline["last_target_insert"] == "2024-01-01T10:05:00Z"
    assert pipeline["last_target_soft_delete"] is None
    assert pipeline["load_lineage"] is False

    run = (await gateway.get(f"/pipeline_execution/{eid}")).json()
    assert run == {
        "id": eid,
        "parent_id": None,
        "pipeline_id": pid,
        "start_date": "2024-01-01T10:00:00Z",
        "end_date": "2024-01-01T10:05:00Z",
        "duration_seconds": 300,
        "completed_successfully": True,
        "inserts": 800,
        "updates": 200,
        "soft_deletes": 0,
        "total_rows": 1000,
        "watermark": None,
        "next_watermark": None,
        "execution_metadata": {"partition": "2025-01-05"},
        "anomaly_flags": None,
        "throughput": 3.3333,
        "child_executions": [],
    }
    (ended,) = await events.wait_for(
        lambda m: m.topic == "execution.ended" and m.json()["execution_id"] == eid
    )
    e = ended.json()
    assert ended.key == str(pid).encode()
    assert ended.headers["ce_type"] == b"execution.ended.v1"
    # one trace follows the request from the gateway through the outbox onto the topic
    assert ended.headers["traceparent"].decode().split("-")[1] == trace_id
    assert (e["duration_seconds"], e["throughput"], e["total_rows"], e["completed_successfully"]) == (
        300,
        3.3333,
        1000,
        True,
    )
    assert e["slo"]["freshness_number"] == 1
    assert e["slo"]["freshness_datepart"] == "day"
    await events.wait_for(lambda m: m.topic == "execution.started" and m.json()["execution_id"] == eid)


async def test_start_date_defaults_to_now(gateway: httpx.AsyncClient) -> None:
    pid = await create_pipeline(gateway)
    eid = (await gateway.post("/start_pipeline_execution", json={"pipeline_id": pid})).json()["id"]
    run = (await gateway.get(f"/pipeline_execution/{eid}")).json()
    assert run["start_date"].startswith("20")
    assert run["end_date"] is None


async def test_hierarchy_three_levels_deep(gateway: httpx.AsyncClient) -> None:
    pid = await create_pipeline(gateway)

    async def start(parent: int | None = None) -> int:
        r = await gateway.post("/start_pipeline_execution", json={"pipeline_id": pid, "parent_id": parent})
        assert r.status_code == 201
        return int(r.json()["id"])

    root = await start()
    child = await start(root)
    grandchild = await start(child)
    great = await start(grandchild)
    tree = (await gateway.get(f"/pipeline_execution/{root}")).json()
    level1 = tree["child_executions"]
    assert [c["id"] for c in level1] == [child]
    assert level1[0]["parent_id"] == root
    level2 = level1[0]["child_executions"]
    assert [c["id"] for c in level2] == [grandchild]
    assert [c["id"] for c in level2[0]["child_executions"]] == [great]
    assert level2[0]["child_executions"][0]["child_executions"] == []


async def test_watermark_handshake_across_a_failed_and_a_successful_run(gateway: httpx.AsyncClient) -> None:
    name = unique("incremental")
    first = await gateway.post(
        "/pipeline", json={"name": name, "pipeline_type_name": "t", "next_watermark": "2024-01-01"}
    )
    pid = first.json()["id"]

    async def run(success: bool) -> None:
        eid = (await gateway.post("/start_pipeline_execution", json={"pipeline_id": pid})).json()["id"]
        r = await gateway.post(
            "/end_pipeline_execution",
            json={
                "id": eid,
                "end_date": "2099-01-01T00:00:00Z",
                "completed_successfully": success,
                "inserts": 1,
            },
        )
        assert r.status_code == 204

    await run(success=False)
    retry = await gateway.post(
        "/pipeline", json={"name": name, "pipeline_type_name": "t", "next_watermark": "2024-01-01"}
    )
    assert retry.json()["watermark"] is None  # failed: the same range (None, 2024-01-01] is processed again
    await run(success=True)
    nxt = await gateway.post(
        "/pipeline", json={"name": name, "pipeline_type_name": "t", "next_watermark": "2024-01-02"}
    )
    assert (nxt.status_code, nxt.json()["watermark"]) == (200, "2024-01-01")
    await run(success=True)
    assert (await gateway.get(f"/pipeline/{pid}")).json()["watermark"] == "2024-01-02"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/pipeline/999999999", None, 404),
        ("GET", "/pipeline_type/999999999", None, 404),
        ("GET", "/pipeline_execution/999999999", None, 404),
        ("POST", "/start_pipeline_execution", {"pipeline_id": 999999999}, 404),
        (
            "POST",
            "/end_pipeline_execution",
            {"id": 999999999, "end_date": "2024-01-01T00:00:00Z", "completed_successfully": True},
            404,
        ),
        ("PATCH", "/pipeline", {"id": 999999999, "active": False}, 404),
        ("PATCH", "/pipeline_type", {"id": 999999999, "mute_freshness_check": True}, 404),
        ("POST", "/pipeline", {"name": "x", "pipeline_type_name": "t", "freshness_number": 1}, 422),
        (
            "POST",
            "/pipeline",
            {
                "name": "x",
                "pipeline_type_name": "t",
                "freshness_number": 1,
                "freshness_datepart": "fortnight",
            },
            422,
        ),
        ("POST", "/pipeline", {"name": "x" * 151, "pipeline_type_name": "t"}, 422),
        ("POST", "/start_pipeline_execution", {"pipeline_id": True}, 422),
        ("POST", "/start_pipeline_execution", {"pipeline_id": 10**20}, 422),
        ("GET", "/pipeline/99999999999999999999", None, 422),
        (
            "POST",
            "/end_pipeline_execution",
            {
                "id": 1,
                "end_date": "2024-01-01T00:00:00Z",
                "completed_successfully": True,
                "total_rows": 10**19,
            },
            422,
        ),
        (
            "POST",
            "/pipeline",
            {"name": "x", "pipeline_type_name": "t", "freshness_number": 10**10, "freshness_datepart": "day"},
            422,
        ),
        (
            "POST",
            "/end_pipeline_execution",
            {"id": 1, "end_date": "2024-01-01T00:00:00Z", "completed_successfully": True, "inserts": -1},
            422,
        ),
    ],
)
async def test_client_mistakes_get_documented_errors_not_500(
    gateway: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None, status: int
) -> None:
    r = await gateway.request(method, path, json=body)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


async def test_end_before_start_is_400_and_bad_parent_is_404(gateway: httpx.AsyncClient) -> None:
    pid = await create_pipeline(gateway)
    eid = (
        await gateway.post(
            "/start_pipeline_execution", json={"pipeline_id": pid, "start_date": "2024-01-01T10:00:00Z"}
        )
    ).json()["id"]
    r = await gateway.post(
        "/end_pipeline_execution",
        json={"id": eid, "end_date": "2024-01-01T09:00:00Z", "completed_successfully": True},
    )
    assert r.status_code == 400
    assert "end_date must be greater than start_date" in r.json()["detail"]
    r = await gateway.post("/start_pipeline_execution", json={"pipeline_id": pid, "parent_id": 999999999})
    assert r.status_code == 404


async def test_malformed_json_and_duplicate_names(gateway: httpx.AsyncClient) -> None:
    r = await gateway.post("/pipeline", content=b"{not json", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    taken = unique("taken")
    await create_pipeline(gateway, name=taken)
    other = await create_pipeline(gateway)
    r = await gateway.patch("/pipeline", json={"id": other, "name": taken})
    assert r.status_code == 409


async def test_health_root_and_docs(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/")).json() == {"status": "ok"}
    assert (await gateway.get("/health/live")).status_code == 200
    assert (await gateway.get("/health/ready")).status_code == 200
    doc = (await gateway.get("/schema/openapi.json")).json()
    assert "/end_pipeline_execution" in doc["paths"]
    assert "headwater_http" in (await gateway.get("/metrics")).text

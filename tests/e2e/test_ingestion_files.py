"""Ingestion's file path end to end, through the gateway only: a CSV uploaded (multipart, or to the signed URL) is
stored, ingested by the worker into the dataset's table, its bad rows quarantined with a muted alert and the run
reported to the Watcher API; a rule fixed and the bad rows reprocessed, a signature ignored, the file ignored; an
unreadable file fails with a fatal error and an alert; bad uploads get clear answers and lose nothing."""

from __future__ import annotations

import gzip
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from headwater.common.testing import TopicCollector, eventually
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e

FIELDS: dict[str, dict[str, Any]] = {
    "id": {"json_schema_field_type": "integer", "is_required": True},
    "name": {"json_schema_field_type": "string"},
    "score": {"json_schema_field_type": "number", "minimum": 0, "maximum": 100},
}
# Four good rows; two bad ones: an id that is not an integer, a score over the maximum.
CSV = b"id,name,score\n1,ann,10\n2,bob,20\nx,cy,30\n4,di,150\n5,ed,50\n6,flo,60\n"
GOOD_IDS = [1, 2, 5, 6]
INGEST_SECONDS = 90.0


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def make_dataset(gateway: httpx.AsyncClient, system: Stack) -> tuple[dict[str, Any], int]:
    """A destination (the warehouse), a dataset with validation info for its fields, and a data source."""
    tag = uuid.uuid4().hex[:8]
    dsn = urlsplit(system.warehouse_dsn)
    destination = await ok(
        await gateway.post(
            "/destinations",
            json={
                "name": f"warehouse-{tag}",
                "destination_type": "postgresql",
                "database_name": dsn.path.lstrip("/"),
                "host": dsn.hostname,
                "port": str(dsn.port),
                "user": dsn.username,
            }
            | ({"password": dsn.password} if dsn.password else {}),
        )
    )
    dataset = await ok(
        await gateway.post(
            "/datasets",
            json={
                "name": f"scores-{tag}",
                "schema_name": f"e2e_{tag}",
                "database_name": dsn.path.lstrip("/"),
                "table_name": "scores",
                "destination_id": destination["id"],
            },
        )
    )
    for field_name, rules in FIELDS.items():
        await ok(await gateway.post(f"/datasets/{dataset['id']}/validation_info/{field_name}", json=rules))
    source = await ok(
        await gateway.post(
            "/data-sources", json={"name": f"uploads-{tag}", "settings_model_id": dataset["id"]}
        )
    )
    return dataset, source["id"]


async def ingested(gateway: httpx.AsyncClient, item_id: int, state: str = "ingested") -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        item = await ok(await gateway.get(f"/stored-items/{item_id}"))
        assert item["state"] not in ({"ingested", "failed"} - {state}), item
        assert item["state"] == state, item
        return item

    return await eventually(check, timeout=INGEST_SECONDS, interval=0.5)


async def rows(gateway: httpx.AsyncClient, dataset_id: int, **params: Any) -> list[dict[str, Any]]:
    page = await ok(await gateway.get(f"/datasets/{dataset_id}/data", params={"limit": 1000, **params}))
    return page["results"]


async def upload(gateway: httpx.AsyncClient, source_id: int, name: str, content: bytes) -> httpx.Response:
    return await gateway.post(
        "/stored-items/upload",
        data={"data_source_model_id": str(source_id)},
        files={"file": (name, content, "text/csv")},
    )


async def test_an_uploaded_csv_is_ingested_checked_reported_and_its_bad_rows_handled(
    gateway: httpx.AsyncClient, system: Stack, events: TopicCollector
) -> None:
    dataset, source_id = await make_dataset(gateway, system)
    dataset_id = dataset["id"]
    item = await ok(await upload(gateway, source_id, "scores.csv", CSV))
    assert (item["state"], item["file_name"], item["size"]) == ("published", "scores.csv", len(CSV))
    done = await ingested(gateway, item["id"])
    assert (done["successful_rows_count"], done["bad_rows_count"], done["is_ingested"]) == (4, 2, True)

    good = await rows(gateway, dataset_id, order_by="id")
    assert [(r["id"], r["name"]) for r in good] == [(1, "ann"), (2, "bob"), (5, "ed"), (6, "flo")]
    assert {r["_stored_item_id"] for r in good} == {item["id"]}
    bad = await rows(gateway, dataset_id, is_bad_data="true", order_by="_line_number")
    assert [(r["_field_name"], r["_field_value"]) for r in bad] == [("id", "x"), ("score", "150")]
    assert all(r["_signature"] for r in bad)

    async def muted_alert() -> list[dict[str, Any]]:
        page = await ok(await gateway.get("/alerts", params={"is_muted": "true", "dataset_id": dataset_id}))
        assert page["results"], page
        return page["results"]

    alerts = await eventually(muted_alert, timeout=30, interval=0.5)
    assert all(a["is_muted"] and a["dataset_id"] == dataset_id for a in alerts)

    job = await ok(await gateway.get(f"/ingestion-jobs/{done['ingestion_job_id']}"))
    assert (job["state"], job["successful_rows_count"], job["bad_rows_count"], job["rows_read"]) == (
        "finished",
        4,
        2,
        6,
    )
    listed = await ok(await gateway.get("/ingestion-jobs", params={"dataset_id": dataset_id}))
    assert [j["id"] for j in listed["results"]] == [job["id"]]
    assert job["dataset_name"] == dataset["name"]

    async def pipeline_run() -> dict[str, Any]:
        pipelines = await ok(await gateway.get("/pipeline", params={"limit": 1000}))
        named = [p for p in pipelines if p["name"] == dataset["name"]]
        assert len(named) == 1, [p["name"] for p in pipelines]
        pipeline = named[0]
        ended = [
            m.json()
            for m in events.messages
            if m.topic == "execution.ended" and m.json()["pipeline_id"] == pipeline["id"]
        ]
        assert ended, pipeline
        return await ok(await gateway.get(f"/pipeline_execution/{ended[-1]['execution_id']}"))

    run = await eventually(pipeline_run, timeout=30, interval=0.5)
    assert (run["completed_successfully"], run["total_rows"], run["inserts"]) == (True, 6, 4)

    # A rule fixed, the bad rows reprocessed: the score of 150 now passes.
    wider = FIELDS["score"] | {"maximum": 200}
    await ok(await gateway.post(f"/datasets/{dataset_id}/validation_info/score", json=wider))
    moved = await ok(await gateway.post(f"/datasets/{dataset_id}/reprocess-bad-rows", json={"ids": []}))
    assert moved["result"].endswith("1 moved into the table, 1 still bad"), moved
    assert [r["id"] for r in await rows(gateway, dataset_id, order_by="id")] == [1, 2, 4, 5, 6]

    # The id that is not an integer is ignored: its bad row goes, and the same line is dropped later on.
    (still,) = await rows(gateway, dataset_id, is_bad_data="true")
    ignored = await ok(
        await gateway.post(
            f"/datasets/{dataset_id}/ignore_line_signature",
            json={"data_source_model_to_line_signatures": [[source_id, still["_signature"]]]},
        )
    )
    assert "1 bad row(s) dropped" in ignored["result"]
    assert await rows(gateway, dataset_id, is_bad_data="true") == []

    # The file ignored: its rows leave the dataset.
    patched = await ok(await gateway.patch("/stored-items", json={"id": item["id"], "ignore_file": True}))
    assert patched["ignore_file"] is True
    assert await rows(gateway, dataset_id) == []
    items = await ok(await gateway.get("/stored-items", params={"data_source_model_id": source_id}))
    assert [i["id"] for i in items["results"]] == [item["id"]]


async def test_a_file_put_to_the_signed_url_is_ingested_and_the_url_serves_once(
    gateway: httpx.AsyncClient, system: Stack
) -> None:
    dataset, source_id = await make_dataset(gateway, system)
    created = await ok(
        await gateway.post("/stored-items", json={"data_source_model_id": source_id, "key": "in/scores.csv"})
    )
    assert created["url"].startswith(f"/stored-items/{created['id']}/upload?token=")
    # No login: the URL's token is the credential.
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as anonymous:
        assert (
            await anonymous.put(created["url"], content=b"")
        ).status_code == 422  # empty: the URL stays unused
        put = await ok(await anonymous.put(created["url"], content=CSV))
        assert put["id"] == created["id"]
        again = await anonymous.put(created["url"], content=CSV)
        assert again.status_code == 403, again.text
        forged = await anonymous.put(created["url"][:-4] + "AAAA", content=CSV)
        assert forged.status_code == 403, forged.text
    done = await ingested(gateway, created["id"])
    assert (done["successful_rows_count"], done["bad_rows_count"], done["is_uploaded_via_signed_url"]) == (
        4,
        2,
        True,
    )
    assert [r["id"] for r in await rows(gateway, dataset["id"], order_by="id")] == GOOD_IDS


async def test_an_unreadable_file_fails_with_a_fatal_error_and_an_alert(
    gateway: httpx.AsyncClient, system: Stack
) -> None:
    dataset, source_id = await make_dataset(gateway, system)
    truncated = gzip.compress(CSV * 50)[:-40]
    item = await ok(await upload(gateway, source_id, "scores.csv.gz", truncated))
    failed = await ingested(gateway, item["id"], state="failed")
    assert failed["error"], failed
    assert await rows(gateway, dataset["id"]) == []

    async def fatal_error() -> dict[str, Any]:
        page = await ok(await gateway.get("/errors", params={"limit": 1000}))
        errors = [e for e in page["results"] if e["stored_item_id"] == item["id"]]
        assert len(errors) == 1, page["results"][:5]
        return errors[0]

    error = await eventually(fatal_error, timeout=30, interval=0.5)
    assert error["data_source_model_id"] == source_id

    async def alert() -> dict[str, Any]:
        page = await ok(await gateway.get("/alerts", params={"dataset_id": dataset["id"]}))
        raised = [a for a in page["results"] if a["alert_type"] == "ingestion_failed"]
        assert len(raised) == 1, page["results"]
        return raised[0]

    raised = await eventually(alert, timeout=30, interval=0.5)
    assert not raised["is_muted"]


async def test_bad_uploads_get_clear_answers_and_lose_nothing(
    gateway: httpx.AsyncClient, system: Stack
) -> None:
    dataset, source_id = await make_dataset(gateway, system)
    empty = await upload(gateway, source_id, "empty.csv", b"")
    assert empty.status_code == 422, empty.text
    assert "empty" in empty.text
    no_file = await gateway.post(
        "/stored-items/upload", files={"data_source_model_id": (None, str(source_id))}
    )
    assert no_file.status_code == 422, no_file.text
    assert "no file part" in no_file.text
    not_multipart = await gateway.post(
        "/stored-items/upload", params={"data_source_model_id": source_id}, content=CSV
    )
    assert not_multipart.status_code == 422, not_multipart.text
    assert "multipart/form-data" in not_multipart.text
    unknown_source = await upload(gateway, 999_999_999, "scores.csv", CSV)
    assert unknown_source.status_code == 404, unknown_source.text
    broken = await gateway.post(
        "/stored-items/upload",
        params={"data_source_model_id": source_id},
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nid,name\n1,a\n',
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code == 422, broken.text
    assert "malformed" in broken.text

    async def nothing_kept() -> None:
        # The broken body's stored item (made when its upload began) goes once ingestion sees the body break,
        # which may be a moment after the gateway answered; it is never stored nor published.
        items = await ok(await gateway.get("/stored-items", params={"data_source_model_id": source_id}))
        assert all(i["state"] == "waiting_for_upload" for i in items["results"]), items["results"]
        assert items["results"] == []

    await eventually(nothing_kept, timeout=30, interval=0.2)

    header_only = await ok(await upload(gateway, source_id, "header.csv", b"id,name,score\n"))
    done = await ingested(gateway, header_only["id"])
    assert (done["successful_rows_count"], done["bad_rows_count"]) == (0, 0)
    good = await ok(await upload(gateway, source_id, "scores.csv", CSV))
    await ingested(gateway, good["id"])
    assert [r["id"] for r in await rows(gateway, dataset["id"], order_by="id")] == GOOD_IDS

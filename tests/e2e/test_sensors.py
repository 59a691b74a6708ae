"""Data source sensors end to end: a data source watching a prefix of the system's object store (its folder),
a file dropped there directly, Run Sensor Job Now through the gateway, and the file stored and ingested by the
ingestion worker; then Run Sensor Cronjob Now: ingestion's `job.changed` reached the scheduler, which fires
`job.run.requested` and the worker runs the sensor; Disable Sensor Cronjob Now stops that."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from headwater.common.testing import eventually
from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e


def drop_file(system: Stack, key: str, data: bytes) -> None:
    """A file landing in the store on its own: written straight into the store's folder."""
    path = Path(system.object_store_url.removeprefix("file://")) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.rename(path)


async def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_file_dropped_under_a_sensor_prefix_is_stored_and_ingested(
    system: Stack, gateway: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    dataset = await ok(
        await gateway.post(
            "/datasets",
            json={
                "name": f"sensed-{tag}",
                "schema_name": f"sensed_{tag}",
                "database_name": "warehouse",
                "table_name": "rows",
            },
        )
    )
    for field, kind in (("id", "integer"), ("name", "string")):
        await ok(
            await gateway.post(
                f"/datasets/{dataset['id']}/validation_info/{field}", json={"json_schema_field_type": kind}
            )
        )
    prefix = f"landing/{tag}"
    source = await ok(
        await gateway.post(
            "/data-sources",
            json={
                "name": f"sensor-{tag}",
                "settings_model_id": dataset["id"],
                "data_source_type": "s3",
                "schedule": "0 0 1 1 *",  # due once a year: the runs below are asked for
                "s3_prefix": prefix,
                "pattern": r".*\.csv",
            },
        )
    )
    ds = source["id"]
    drop_file(system, f"{prefix}/first.csv", b"id,name\n1,ann\n2,bob\n")
    drop_file(system, f"{prefix}/readme.txt", b"not picked up")

    ran = await ok(await gateway.post(f"/data-sources/{ds}/run-sensor-job-now"))
    assert ran["job_name"] == f"sensor-{ds}"
    assert (ran["listed"], ran["new"], len(ran["stored_item_ids"])) == (2, 1, 1)

    async def rows() -> list[dict[str, Any]]:
        page = await ok(await gateway.get(f"/datasets/{dataset['id']}/data", params={"order_by": "id"}))
        return page["results"]

    async def first_loaded() -> None:
        loaded = await rows()
        assert [(r["id"], r["name"]) for r in loaded] == [(1, "ann"), (2, "bob")]
        assert {r["_stored_item_id"] for r in loaded} == set(ran["stored_item_ids"])

    await eventually(first_loaded, timeout=60, interval=0.5)
    assert (await ok(await gateway.post(f"/data-sources/{ds}/run-sensor-job-now")))["stored_item_ids"] == []

    # the scheduled run, made due now: the scheduler fires job.run.requested and the worker runs the sensor
    drop_file(system, f"{prefix}/second.csv", b"id,name\n3,cy\n")

    async def cronjob_due() -> None:
        answer = await gateway.post(f"/data-sources/{ds}/run-sensor-cronjob-now")
        assert answer.status_code == 200, answer.text  # 409 until the scheduler has the sensor's schedule
        assert answer.json()["job_name"] == f"sensor-{ds}"

    await eventually(cronjob_due, timeout=30, interval=0.5)

    async def second_loaded() -> None:
        assert sorted(r["id"] for r in await rows()) == [1, 2, 3]

    await eventually(second_loaded, timeout=60, interval=0.5)

    disabled = await ok(await gateway.post(f"/data-sources/{ds}/disable-sensor-cronjob-now"))
    assert disabled["job_name"] == f"sensor-{ds}"
    refused = await gateway.post(f"/data-sources/{ds}/run-sensor-cronjob-now")
    assert refused.status_code == 409
    assert "disabled" in refused.text
    missing = await gateway.post("/data-sources/999999999/run-sensor-job-now")
    assert missing.status_code == 404

"""The gateway's Qluster sensor routes: Run Sensor Job Now and Disable Sensor Cronjob Now forwarded to ingestion;
Run Sensor Cronjob Now checked by ingestion (for the caller), then made due by the scheduler (as the system)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.testing import TestClient

from headwater.common.principal import SYSTEM
from headwater.gateway.testing import EDITOR, FakeUpstream
from headwater.gateway.upstream import UpstreamResponse


def json_answer(body: Any, status: int = 200) -> UpstreamResponse:
    return UpstreamResponse(status, msgspec.json.encode(body), "application/json")


def test_run_and_disable_go_to_ingestion(client: TestClient[Any], ingestion: FakeUpstream) -> None:
    ran = {"result": "sensor-3 ran", "job_name": "sensor-3", "listed": 1, "new": 1, "stored_item_ids": [4]}
    ingestion.answer = json_answer(ran | {"skipped": []})
    assert client.post("/data-sources/3/run-sensor-job-now").json()["stored_item_ids"] == [4]
    client.post("/data-sources/3/disable-sensor-cronjob-now")
    assert [(c.method, c.path, c.principal) for c in ingestion.calls] == [
        ("POST", "/data-sources/3/run-sensor-job-now", EDITOR),
        ("POST", "/data-sources/3/disable-sensor-cronjob-now", EDITOR),
    ]


def test_run_sensor_cronjob_now_is_checked_by_ingestion_then_made_due_by_the_scheduler(
    client: TestClient[Any], ingestion: FakeUpstream, scheduler: FakeUpstream
) -> None:
    ingestion.answer = json_answer({"result": "sensor-3 will run now", "job_name": "sensor-3"})
    scheduler.answer = json_answer({"name": "sensor-3", "due_at": "2026-12-03T10:00:00Z"})
    answer = client.post("/data-sources/3/run-sensor-cronjob-now")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "sensor-3 is due at 2026-12-03T10:00:00+00:00", "job_name": "sensor-3"}
    assert [(c.path, c.principal) for c in ingestion.calls] == [
        ("/data-sources/3/run-sensor-cronjob-now", EDITOR)
    ]
    assert [(c.method, c.path, c.principal) for c in scheduler.calls] == [
        ("POST", "/schedules/sensor-3/run-now", SYSTEM)
    ]

    scheduler.answer = json_answer({"detail": "no job schedule"}, 404)
    not_yet = client.post("/data-sources/3/run-sensor-cronjob-now")
    assert not_yet.status_code == 409
    assert "retry" in not_yet.json()["detail"]


def test_run_sensor_cronjob_now_refused_by_ingestion_asks_no_scheduler(
    client: TestClient[Any], ingestion: FakeUpstream, scheduler: FakeUpstream
) -> None:
    ingestion.answer = json_answer({"detail": "data source 3 has no sensor cronjob"}, 409)
    refused = client.post("/data-sources/3/run-sensor-cronjob-now")
    assert refused.status_code == 409
    assert refused.json() == {"detail": "data source 3 has no sensor cronjob"}
    assert scheduler.calls == []

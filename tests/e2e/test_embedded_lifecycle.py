"""`make up` / `make down` as a user lives them: a second `up` says it runs, data survives a restart."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from headwater.devstack import cli
from headwater.devstack.testing import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    state = Path(tempfile.mkdtemp(prefix="headwater-lifecycle-"))
    env = {
        "HEADWATER_STATE_DIR": str(state),
        "HEADWATER_POSTGRES_PORT": str(free_port()),
        "HEADWATER_KAFKA_PORT": str(free_port()),
        "HEADWATER_GATEWAY_HTTP_PORT": str(free_port()),
        "HEADWATER_EXECUTION_TRACKING_HTTP_PORT": str(free_port()),
        "HEADWATER_EXECUTION_TRACKING_WORKER_METRICS_PORT": str(free_port()),
        "HEADWATER_QUALITY_ALERTING_HTTP_PORT": str(free_port()),
        "HEADWATER_QUALITY_ALERTING_WORKER_METRICS_PORT": str(free_port()),
        "HEADWATER_SCHEDULER_HTTP_PORT": str(free_port()),
        "HEADWATER_SCHEDULER_WORKER_METRICS_PORT": str(free_port()),
        "HEADWATER_EXECUTION_TRACKING_HTTP_WORKERS": "1",
        "HEADWATER_BOOTSTRAP_TOKEN": "hw_lifecycle_token_0123456789",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("HEADWATER_ADMIN_PASSWORD", raising=False)
    try:
        yield env
    finally:
        cli.main(["down"])
        shutil.rmtree(state, ignore_errors=True)


def test_up_twice_then_down_and_up_keeps_the_data(
    environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = f"http://127.0.0.1:{environment['HEADWATER_GATEWAY_HTTP_PORT']}"
    auth = {"authorization": f"Bearer {environment['HEADWATER_BOOTSTRAP_TOKEN']}"}
    assert cli.main(["up"]) == 0
    out = capsys.readouterr().out
    assert f"Gateway: {gateway}" in out
    # No HEADWATER_ADMIN_PASSWORD: the superuser's generated password is printed once, and it logs in.
    (line,) = [line for line in out.splitlines() if line.startswith("one-time password of 'admin': ")]
    password = line.split(": ", 1)[1].split()[0]
    with httpx.Client(base_url=gateway) as http:
        token = http.post("/token", data={"username": "admin", "password": password})
        assert token.status_code == 200, token.text
        assert http.get("/pipeline").status_code == 401
    assert cli.main(["up"]) == 0
    assert "already running" in capsys.readouterr().out

    with httpx.Client(base_url=gateway, headers=auth) as http:
        pid = http.post(
            "/pipeline", json={"name": "kept", "pipeline_type_name": "t", "next_watermark": 5}
        ).json()["id"]
        eid = http.post("/start_pipeline_execution", json={"pipeline_id": pid}).json()["id"]
        assert (
            http.post(
                "/end_pipeline_execution",
                json={"id": eid, "end_date": "2099-01-01T00:00:00Z", "completed_successfully": True},
            ).status_code
            == 204
        )

    assert cli.main(["down"]) == 0
    assert cli.main(["status"]) == 3
    assert cli.main(["up"]) == 0
    assert "one-time password" not in capsys.readouterr().out  # the superuser exists: nothing new to show
    with httpx.Client(base_url=gateway, headers=auth) as http:
        assert http.get(f"/pipeline/{pid}").json()["watermark"] == "5"
        assert http.get(f"/pipeline_execution/{eid}").json()["completed_successfully"] is True

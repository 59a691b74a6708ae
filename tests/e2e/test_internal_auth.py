"""Trust between the gateway and the services: an internal API serves only calls whose principal is signed with
the internal key (the gateway's, an operator's `call`); whoever else reaches its port gets 401."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from headwater.devstack.stack import Stack

pytestmark = pytest.mark.e2e

INTERNAL = {
    "execution-tracking": "/pipeline_type",
    "quality-alerting": "/api/v1/notification_channels",
    "scheduler": "/schedules",
    "ingestion": "/datasets",
}


@pytest.mark.parametrize(("service", "path"), INTERNAL.items())
async def test_a_direct_unsigned_call_is_401_and_probes_stay_open(
    system: Stack, service: str, path: str
) -> None:
    async with httpx.AsyncClient(base_url=system.url(service), timeout=10) as direct:
        r = await direct.get(path)
        assert r.status_code == 401, r.text
        assert "only the gateway may call" in r.json()["detail"]
        # the header alone, as anyone could write it, is not enough either
        r = await direct.get(
            path, headers={"x-headwater-principal": '{"subject": "system", "role": "superuser"}'}
        )
        assert r.status_code == 401
        assert (await direct.get("/health/live")).status_code == 200
        assert (await direct.get("/metrics")).status_code == 200


async def test_the_gateway_signs_what_the_service_sees(gateway: httpx.AsyncClient) -> None:
    """Paths and query strings reach the service exactly as signed, percent-escapes included."""
    assert (await gateway.get("/pipeline_type")).status_code == 200
    r = await gateway.get("/lineage/address/999999999", params={"depth": "2"}, follow_redirects=False)
    assert r.status_code == 404, r.text
    r = await gateway.get("/lineage/address/999999999?direction=%75pstream&depth=%32")
    assert r.status_code == 404, r.text


def call(system: Stack, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = system.service_env() | ({"HEADWATER_INTERNAL_SIGNING_KEY": key} if key else {})
    return subprocess.run(
        [sys.executable, "-m", "headwater.execution_tracking", "call", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_operator_calls_a_service_as_system_with_the_key(system: Stack) -> None:
    done = call(system, "GET", "/pipeline_type?limit=5")
    assert (done.returncode, done.stderr.strip()) == (0, "200"), done.stderr
    assert done.stdout.startswith("[")
    forged = call(system, "GET", "/pipeline_type", key="not-the-key-but-long-enough-to-pass-checks")
    assert forged.returncode == 1
    assert forged.stderr.strip() == "401"

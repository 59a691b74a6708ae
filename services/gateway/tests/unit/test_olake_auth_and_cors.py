"""The OLake UI's credentials and origin: its session cookie wins over the `Bearer authenticated` it sends on
OLake paths only; every answer to an allowed origin carries the CORS headers, a 404 of a path no route serves
and a preflight of one included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from headwater.common.principal import Principal
from headwater.gateway.app import create_app
from headwater.gateway.settings import Settings
from headwater.gateway.testing import FakeIdentity, FakeUpstream, fake_container

UI = "http://localhost:8000"
SESSION = Principal(
    subject="00000000-0000-0000-0000-000000000002", username="ui", role="editor", via="session"
)


class CookieOnly(FakeIdentity):
    """A session cookie "s" is valid; no Bearer value is."""

    async def authenticate(self, bearer: str | None, session_id: str | None) -> Principal | None:
        return SESSION if bearer is None and session_id == "s" else None


@pytest.fixture
def ui(execution_tracking: FakeUpstream) -> Iterator[TestClient[Any]]:
    identity = CookieOnly(principal=SESSION, settings=Settings(log_json=False, cors_allow_origins=UI))
    container = fake_container(execution_tracking, identity=identity)
    container.settings = identity.settings
    with TestClient(create_app(container)) as c:
        c.headers.update({"authorization": "Bearer authenticated", "origin": UI})
        yield c


def test_on_olake_paths_the_cookie_wins_over_a_bearer_that_is_no_token(ui: TestClient[Any]) -> None:
    ui.cookies.set("headwater_session", "s")
    r = ui.get("/api/v1/project/123/sources/versions/?type=postgres")
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "message": "success", "data": {"version": ["latest"]}}
    assert r.headers["access-control-allow-origin"] == UI
    # elsewhere the Bearer value is the credential, and it is not a valid one
    assert ui.get("/pipeline").status_code == 401


def test_without_the_cookie_an_olake_path_is_401_in_its_shape(ui: TestClient[Any]) -> None:
    r = ui.get("/api/v1/project/123/sources")
    assert r.status_code == 401
    assert r.json() == {"success": False, "message": "Authentication required"}
    assert r.headers["access-control-allow-origin"] == UI


def test_unknown_paths_and_their_preflights_carry_cors(ui: TestClient[Any]) -> None:
    missing = ui.get("/no/such/path")
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == UI
    assert missing.headers["access-control-allow-credentials"] == "true"
    preflight = ui.options("/no/such/path", headers={"access-control-request-method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == UI
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
    other = ui.get("/no/such/path", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_telemetry_id_needs_no_login(ui: TestClient[Any]) -> None:
    r = ui.get("/telemetry-id")
    assert r.status_code == 200
    assert len(r.json()["data"]["user_id"]) == 32

"""A write authenticated by the session cookie must say it is an API call: `Content-Type: application/json` or
an `X-Requested-With` header, neither of which a cross-site form can send. Bearer-authenticated writes are
unaffected. Every answer says it varies by `Origin`, so no cache serves one origin's CORS answer to another."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from headwater.common.principal import Principal
from headwater.gateway.app import create_app
from headwater.gateway.identity.guard import COOKIE_WRITE_REFUSED
from headwater.gateway.settings import Settings
from headwater.gateway.testing import FakeIdentity, FakeUpstream, fake_container

SESSION = Principal(
    subject="00000000-0000-0000-0000-000000000002", username="ui", role="editor", via="session"
)
BODY = b'{"name": "p", "pipeline_type_name": "t"}'
UI = "https://ui.example.com"


@pytest.fixture
def cookie_client(execution_tracking: FakeUpstream) -> Iterator[TestClient[Any]]:
    identity = FakeIdentity(principal=SESSION, settings=Settings(log_json=False, cors_allow_origins=UI))
    container = fake_container(execution_tracking, identity=identity)
    container.settings = identity.settings
    with TestClient(create_app(container)) as c:
        c.cookies.set("headwater_session", "s")
        yield c


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {},
    ],
)
def test_a_cookie_write_that_a_form_could_send_is_refused(
    cookie_client: TestClient[Any], execution_tracking: FakeUpstream, headers: dict[str, str]
) -> None:
    r = cookie_client.post("/pipeline", content=BODY, headers=headers)
    assert r.status_code == 403, r.text
    assert "application/json" in r.json()["detail"]
    assert execution_tracking.calls == []


def test_a_refused_olake_cookie_write_answers_in_its_shape(execution_tracking: FakeUpstream) -> None:
    superuser = FakeIdentity(
        principal=Principal(subject="3", username="root", role="superuser", via="session")
    )
    with TestClient(create_app(fake_container(execution_tracking, identity=superuser))) as c:
        r = c.put("/api/v1/project/123/members/u", content=b"", headers={"content-type": "text/plain"})
    assert r.status_code == 403, r.text
    assert r.json() == {"success": False, "message": f"Insufficient permissions: {COOKIE_WRITE_REFUSED}"}


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "Application/JSON; charset=utf-8"},
        {"content-type": "text/plain", "x-requested-with": "XMLHttpRequest"},
    ],
)
def test_a_cookie_write_that_says_it_is_an_api_call_is_served(
    cookie_client: TestClient[Any], execution_tracking: FakeUpstream, headers: dict[str, str]
) -> None:
    assert cookie_client.post("/pipeline", content=BODY, headers=headers).status_code == 200
    assert len(execution_tracking.calls) == 1


def test_reads_need_no_such_header(cookie_client: TestClient[Any]) -> None:
    assert cookie_client.get("/pipeline").status_code == 200


def test_bearer_writes_are_unaffected(client: TestClient[Any], execution_tracking: FakeUpstream) -> None:
    assert client.post("/pipeline", content=BODY, headers={"content-type": "text/plain"}).status_code == 200
    assert len(execution_tracking.calls) == 1


@pytest.mark.parametrize("origin", [None, UI, "https://evil.example.com"])
def test_every_answer_varies_by_origin(cookie_client: TestClient[Any], origin: str | None) -> None:
    headers = {"origin": origin} if origin else {}
    for answer in (
        cookie_client.get("/pipeline", headers=headers),
        cookie_client.get("/", headers=headers),
        cookie_client.post("/pipeline", content=BODY, headers={**headers, "content-type": "text/plain"}),
    ):
        assert "Origin" in answer.headers.get_list("vary"), answer.headers


def test_the_preflight_allows_the_x_requested_with_header(cookie_client: TestClient[Any]) -> None:
    r = cookie_client.options(
        "/pipeline",
        headers={
            "origin": UI,
            "access-control-request-method": "POST",
            "access-control-request-headers": "X-Requested-With",
        },
    )
    assert r.status_code == 200
    assert "X-Requested-With" in r.headers["access-control-allow-headers"]

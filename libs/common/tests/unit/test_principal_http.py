"""The caller's principal in a service: read from the gateway's header, refused when limited to data sources."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from litestar import Litestar, Router, get
from litestar.di import NamedDependency, Provide
from litestar.testing import TestClient

from headwater.common.http import (
    EXCEPTION_HANDLERS,
    LIMITED_TO_SOURCE_REFUSED,
    caller,
    health_handlers,
    refuse_limited_to_source,
)
from headwater.common.principal import HEADER, SYSTEM, Principal

LIMITED = Principal(subject="7", username="lim", role="limited_to_source", data_sources=(1, 2), via="session")
EDITOR = Principal(subject="8", username="ed", role="editor", via="api_token")


@get("/whoami", sync_to_thread=False)
def whoami(principal: NamedDependency[Principal]) -> Principal:
    return principal


@get("/pipelines", sync_to_thread=False)
def pipelines() -> list[str]:
    return ["p"]


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        route_handlers=[
            whoami,
            Router(path="/", route_handlers=[pipelines], guards=[refuse_limited_to_source]),
            *health_handlers(),
        ],
        dependencies={"principal": Provide(caller, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
    )
    with TestClient(app) as c:
        yield c


def test_without_the_header_the_caller_is_the_system(client: TestClient[Litestar]) -> None:
    r = client.get("/whoami")
    assert (r.status_code, msgspec.json.decode(r.content, type=Principal)) == (200, SYSTEM)


@pytest.mark.parametrize("principal", [LIMITED, EDITOR])
def test_the_header_is_the_caller(client: TestClient[Litestar], principal: Principal) -> None:
    r = client.get("/whoami", headers={HEADER: principal.header()})
    assert (r.status_code, msgspec.json.decode(r.content, type=Principal)) == (200, principal)


@pytest.mark.parametrize(
    "garbage",
    ["not json", '{"role": "editor"}', '{"subject": "1", "role": "king"}', "[1, 2]"],
)
@pytest.mark.parametrize("path", ["/whoami", "/pipelines"])
def test_a_garbled_header_is_400(client: TestClient[Litestar], garbage: str, path: str) -> None:
    r = client.get(path, headers={HEADER: garbage})
    assert r.status_code == 400
    assert r.json()["detail"].startswith(f"invalid {HEADER} header")


def test_the_guard_refuses_a_limited_principal_with_403(client: TestClient[Litestar]) -> None:
    r = client.get("/pipelines", headers={HEADER: LIMITED.header()})
    assert (r.status_code, r.json()) == (403, {"detail": LIMITED_TO_SOURCE_REFUSED})


@pytest.mark.parametrize("headers", [{}, {HEADER: EDITOR.header()}, {HEADER: SYSTEM.header()}])
def test_the_guard_passes_everyone_else(client: TestClient[Litestar], headers: dict[str, str]) -> None:
    r = client.get("/pipelines", headers=headers)
    assert (r.status_code, r.json()) == (200, ["p"])


def test_health_stays_reachable_behind_an_app_wide_guard() -> None:
    app = Litestar(
        route_handlers=[pipelines, *health_handlers()],
        guards=[refuse_limited_to_source],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    with TestClient(app) as c:
        assert c.get("/health/live").status_code == 200
        assert c.get("/pipelines", headers={HEADER: LIMITED.header()}).status_code == 403

"""A service that is down or answers too much: the gateway stays ready and keeps serving the other services,
answers 503 at once for the one that is down (its breaker), and refuses an answer over the cap with a 502
instead of buffering it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar.testing import TestClient
from prometheus_client import REGISTRY

from headwater.common.principal import SYSTEM, PrincipalSigner
from headwater.gateway.app import create_app
from headwater.gateway.testing import FakeUpstream, fake_container
from headwater.gateway.upstream import Breaker, Upstream, UpstreamTooLarge

CAP = 1000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_consecutive_failures_and_probes_once_when_the_time_is_up() -> None:
    clock = Clock()
    breaker = Breaker(failures=3, open_seconds=5, clock=clock)
    for _ in range(2):
        assert breaker.wait() is None
        assert not breaker.failed()
    assert breaker.succeeded() is False  # an answer resets the count
    for _ in range(2):
        breaker.failed()
    assert breaker.wait() is None
    assert breaker.failed()  # the third in a row opens it
    assert breaker.wait() == 5
    clock.now += 4
    assert breaker.wait() == 1
    clock.now += 1
    assert breaker.wait() is None  # half-open: one probe goes ...
    assert breaker.wait() == 5  # ... and the others wait for it
    assert breaker.failed()  # the probe failed: open again
    assert breaker.wait() == 5
    clock.now += 5
    assert breaker.wait() is None
    assert breaker.succeeded()  # the probe was answered: closed
    assert breaker.wait() is None


def test_a_probe_that_never_reports_back_lets_another_one_go() -> None:
    clock = Clock()
    breaker = Breaker(failures=1, open_seconds=2, clock=clock)
    breaker.failed()
    clock.now += 2
    assert breaker.wait() is None  # the probe is cancelled: it reports nothing
    clock.now += 2
    assert breaker.wait() is None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def refused(service: str, reason: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "headwater_gateway_upstream_refused_total", {"service": service, "reason": reason}
        )
        or 0.0
    )


@pytest.fixture
def down() -> Upstream:
    """execution-tracking, down: nothing listens on its port."""
    return Upstream(
        "execution-tracking-down",
        f"http://127.0.0.1:{closed_port()}",
        signer=PrincipalSigner("k" * 40),
        timeout=5,
        connections=10,
        breaker_failures=3,
        breaker_open_seconds=60,
    )


def test_one_service_down_leaves_the_gateway_ready_and_the_others_served(down: Upstream) -> None:
    quality_alerting = FakeUpstream("quality-alerting")
    container = fake_container(execution_tracking=down, quality_alerting=quality_alerting)  # type: ignore[arg-type]
    with TestClient(create_app(container)) as client:
        tried = refused(down.name, "unavailable")
        for _ in range(3):
            r = client.get("/pipeline")
            assert (r.status_code, r.headers["retry-after"]) == (503, "1")
            assert r.json() == {"detail": "service temporarily unavailable, retry shortly"}
        assert refused(down.name, "unavailable") == tried + 3
        # the breaker is open: answered at once, without trying, with how long to wait
        r = client.get("/pipeline/1")
        assert r.status_code == 503
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert refused(down.name, "breaker_open") >= 1
        assert refused(down.name, "unavailable") == tried + 3
        # the gateway itself is ready, and the other services' routes work
        assert client.get("/health/ready").status_code == 200
        assert client.get("/alerts").status_code == 200
        assert quality_alerting.calls


class Talkative(BaseHTTPRequestHandler):
    """Answers `/said` with a Content-Length over the cap, `/streamed` with a body over it and no length, and
    `/small` with one under it."""

    def do_GET(self) -> None:
        body = b"[" + b"1," * CAP + b"1]" if self.path != "/small" else b"[1]"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        if self.path != "/streamed":
            self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def talkative() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Talkative)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", ["/said", "/streamed"])
async def test_an_answer_over_the_cap_is_refused_not_buffered(talkative: str, path: str) -> None:
    upstream = Upstream(
        "talkative", talkative, signer=PrincipalSigner("k" * 40), timeout=5, connections=2, max_body=CAP
    )
    try:
        with pytest.raises(UpstreamTooLarge, match="larger than the gateway relays"):
            await upstream.call("GET", path, principal=SYSTEM)
        small = await upstream.call("GET", "/small", principal=SYSTEM)
        assert (small.status, small.body) == (200, b"[1]")
    finally:
        await upstream.close()


def test_the_gateway_answers_502_for_an_answer_over_the_cap(talkative: str) -> None:
    upstream = Upstream(
        "talkative", talkative + "/", signer=PrincipalSigner("k" * 40), timeout=5, connections=2, max_body=CAP
    )
    container = fake_container(execution_tracking=upstream)  # type: ignore[arg-type]
    with TestClient(create_app(container)) as client:
        r = client.get("/pipeline")
    assert r.status_code == 502
    assert "larger than the gateway relays" in r.json()["detail"]

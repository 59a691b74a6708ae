"""The HTTP sender against a real receiver on loopback: answers, errors, timeouts, no redirects followed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from headwater.quality_alerting.adapters.http_sender import HttpSender, _retry_after  # pyright: ignore[reportPrivateUsage]
from headwater.quality_alerting.domain.notifications import Verdict, classify
from headwater.quality_alerting.testing import WebhookReceiver


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = await WebhookReceiver().start()
    yield r
    await r.stop()


async def test_a_2xx_answer_is_a_delivery(receiver: WebhookReceiver) -> None:
    async with HttpSender(timeout=5) as sender:
        result = await sender.post(receiver.url("ok"), b'{"a":1}', {"Content-Type": "application/json"})
    assert (result.status_code, result.error) == (200, None)
    assert classify(result) is Verdict.DELIVERED
    (request,) = receiver.requests("ok")
    assert request.body == b'{"a":1}'
    assert request.headers["User-Agent"].startswith("Headwater-Notifier")


async def test_an_error_answer_keeps_the_start_of_its_body(receiver: WebhookReceiver) -> None:
    receiver.answer("broken", 502)
    async with HttpSender(timeout=5) as sender:
        result = await sender.post(receiver.url("broken"), b"{}", {})
    assert (result.status_code, result.error) == (502, "receiver says 502")


async def test_redirects_are_not_followed(receiver: WebhookReceiver) -> None:
    receiver.answer("moved", 302)
    async with HttpSender(timeout=5) as sender:
        result = await sender.post(receiver.url("moved"), b"{}", {})
    assert result.status_code == 302
    assert classify(result) is Verdict.PERMANENT
    assert len(receiver.requests("moved")) == 1


async def test_a_slow_receiver_times_out(receiver: WebhookReceiver) -> None:
    receiver.answer("slow", 200, delay=2.0)
    async with HttpSender(timeout=0.2) as sender:
        result = await sender.post(receiver.url("slow"), b"{}", {})
    assert result.status_code is None
    assert result.error == "timed out after 0.2 s"
    assert classify(result) is Verdict.RETRY


async def test_nobody_listening_is_a_network_error() -> None:
    gone = await WebhookReceiver().start()
    url = gone.url("x")
    await gone.stop()
    async with HttpSender(timeout=5) as sender:
        result = await sender.post(url, b"{}", {})
    assert result.status_code is None
    assert result.error
    assert "Connect" in result.error


def test_retry_after_in_seconds_only() -> None:
    assert _retry_after("30") == 30.0
    assert _retry_after("0.5") == 0.5
    assert _retry_after(None) is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert _retry_after("-1") is None
    assert _retry_after("nan") is None
    assert _retry_after("inf") is None

"""The HTTP sender against a real receiver on loopback (allow-listed, as an operator would): answers, errors,
timeouts, no redirects followed, no body read back; and the destinations it refuses."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest

from headwater.quality_alerting.adapters.destinations import REFUSED, Destinations, address_range
from headwater.quality_alerting.adapters.http_sender import HttpSender, _retry_after  # pyright: ignore[reportPrivateUsage]
from headwater.quality_alerting.domain.notifications import Verdict, classify
from headwater.quality_alerting.testing import WebhookReceiver

LOOPBACK = Destinations.parse("127.0.0.1")


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = await WebhookReceiver().start()
    yield r
    await r.stop()


async def test_a_2xx_answer_is_a_delivery(receiver: WebhookReceiver) -> None:
    async with HttpSender(timeout=5, destinations=LOOPBACK) as sender:
        result = await sender.post(receiver.url("ok"), b'{"a":1}', {"Content-Type": "application/json"})
    assert (result.status_code, result.error) == (200, None)
    assert classify(result) is Verdict.DELIVERED
    (request,) = receiver.requests("ok")
    assert request.body == b'{"a":1}'
    assert request.headers["User-Agent"].startswith("Headwater-Notifier")


async def test_an_error_answer_is_its_status_only(receiver: WebhookReceiver) -> None:
    """The receiver's body is never echoed (into a test send's answer or a delivery's last error)."""
    receiver.answer("broken", 502)
    async with HttpSender(timeout=5, destinations=LOOPBACK) as sender:
        result = await sender.post(receiver.url("broken"), b"{}", {})
    assert (result.status_code, result.error) == (502, None)


async def test_redirects_are_not_followed(receiver: WebhookReceiver) -> None:
    receiver.answer("moved", 302)
    async with HttpSender(timeout=5, destinations=LOOPBACK) as sender:
        result = await sender.post(receiver.url("moved"), b"{}", {})
    assert result.status_code == 302
    assert classify(result) is Verdict.PERMANENT
    assert len(receiver.requests("moved")) == 1


async def test_a_slow_receiver_times_out(receiver: WebhookReceiver) -> None:
    receiver.answer("slow", 200, delay=2.0)
    async with HttpSender(timeout=0.2, destinations=LOOPBACK) as sender:
        result = await sender.post(receiver.url("slow"), b"{}", {})
    assert result.status_code is None
    assert result.error == "timed out after 0.2 s"
    assert classify(result) is Verdict.RETRY


async def test_nobody_listening_is_a_network_error() -> None:
    gone = await WebhookReceiver().start()
    url = gone.url("x")
    await gone.stop()
    async with HttpSender(timeout=5, destinations=LOOPBACK) as sender:
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


def refused_count(kind: str) -> float:
    return REFUSED.labels(kind)._value.get()  # pyright: ignore[reportAttributeAccessIssue]


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("{receiver}", "loopback"),  # the service's own neighbours: http://127.0.0.1:8082/alerts/1/mute
        ("localhost:{port}", "loopback"),  # a name is checked on the addresses it resolves to
        ("[::ffff:127.0.0.1]:{port}", "loopback"),
        ("169.254.169.254", "link_local"),  # cloud metadata
        ("[fd00:ec2::254]", "unique_local"),  # AWS metadata over IPv6
        ("10.1.2.3", "private"),
        ("[::]", "unspecified"),
    ],
)
async def test_non_public_destinations_are_refused_for_good(
    receiver: WebhookReceiver, host: str, kind: str
) -> None:
    name = f"refused-{kind}"
    url = receiver.url(name)
    netloc = url.split("/")[2]
    url = url.replace(netloc, host.format(receiver=netloc, port=receiver.port))
    before = refused_count(kind)
    async with HttpSender(timeout=5, destinations=Destinations()) as sender:
        result = await sender.post(url, b"{}", {})
    assert (result.status_code, result.refused) == (None, True)
    assert result.error
    assert f"({kind}), not a public address" in result.error
    assert "HEADWATER_QUALITY_ALERTING_WEBHOOK_ALLOW" in result.error
    assert classify(result) is Verdict.PERMANENT
    assert receiver.requests(name) == []
    assert refused_count(kind) == before + 1


@pytest.mark.parametrize("allow", ["localhost", "LOCALHOST.", "127.0.0.0/8", "::1, 127.0.0.1"])
async def test_an_operator_allows_a_host_or_range(receiver: WebhookReceiver, allow: str) -> None:
    url = receiver.url("allowed").replace("127.0.0.1", "localhost")
    async with HttpSender(timeout=5, destinations=Destinations.parse(allow)) as sender:
        result = await sender.post(url, b"{}", {})
    assert result.status_code == 200
    assert receiver.requests("allowed")[-1].headers["Host"] == f"localhost:{receiver.port}"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("fd00:ec2::254", "unique_local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),  # carrier-grade NAT
        ("192.0.2.1", "private"),  # documentation
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_address_ranges(address: str, kind: str | None) -> None:
    assert address_range(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("allow", ["10.0.0.0/33", "http://hooks.internal", "a b", "hooks.internal/x"])
def test_a_bad_allow_list_entry_is_named(allow: str) -> None:
    with pytest.raises(ValueError, match="is not a host name, an IP address or a CIDR range"):
        Destinations.parse(allow)

"""Notifications on the real Postgres, sent to a real HTTP receiver on loopback: delivery, signatures, Slack
messages, retries and backoff, permanent failures, severity and scope filters, suppression, concurrency."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from headwater.common.contracts.alerting import MAX_CHANNELS_LIMIT
from headwater.common.db.engine import to_asyncpg_dsn
from headwater.common.principal import HEADER, Principal
from headwater.common.testing import eventually
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.adapters.destinations import Destinations
from headwater.quality_alerting.adapters.http_sender import HttpSender
from headwater.quality_alerting.bootstrap import Container, bootstrap
from headwater.quality_alerting.domain.alerts import Alert, AlertDraft
from headwater.quality_alerting.domain.notifications import Channel, Delivery, SendResult
from headwater.quality_alerting.entrypoints.http.app import create_app
from headwater.quality_alerting.entrypoints.messaging.notifier import Notifier
from headwater.quality_alerting.service_layer import notifications
from headwater.quality_alerting.service_layer.alerts import raise_alerts
from headwater.quality_alerting.service_layer.notifications import DeliveryPolicy
from headwater.quality_alerting.settings import Settings
from headwater.quality_alerting.testing import WebhookReceiver, write

pytestmark = pytest.mark.integration

SECRET = "integration-test-secret"
ATTEMPTS = 3
BACKOFF = 0.05  # seconds: the first retry's delay, doubling after each failure
LOOPBACK = "127.0.0.1"  # where the receivers listen: allow-listed, as an operator would (see conftest)


def new_id() -> int:
    return random.randint(10**9, 2**62)


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[WebhookReceiver]:
    r = await WebhookReceiver().start()
    yield r
    await r.stop()


@pytest.fixture(scope="module")
def dsn(stack: Stack) -> str:
    return to_asyncpg_dsn(stack.service_dsn("quality_alerting"))


class CountingSender(HttpSender):
    """The real sender, counting what it sent (to see that several notifiers shared the work)."""

    sent = 0

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        self.sent += 1
        return await super().post(url, body, headers)


@asynccontextmanager
async def running_notifier(
    container: Container, dsn: str, *, sender: HttpSender | None = None, batch_size: int = 100
) -> AsyncIterator[Notifier]:
    notifier = Notifier(
        dsn=dsn,
        uow_factory=container.uow_factory,
        sender=sender or HttpSender(timeout=5, destinations=Destinations.parse(LOOPBACK)),
        policy=DeliveryPolicy(
            max_attempts=ATTEMPTS,
            backoff_seconds=BACKOFF,
            batch_size=batch_size,
            concurrency=5,
            poll_interval=0.5,
        ),
    )
    task = asyncio.create_task(notifier.run())
    try:
        yield notifier
    finally:
        await notifier.stop(task, grace=10)


@pytest.fixture
async def notifier(container: Container, dsn: str) -> AsyncIterator[Notifier]:
    async with running_notifier(container, dsn) as n:
        yield n


async def make_channel(container: Container, receiver: WebhookReceiver, **fields: Any) -> Channel:
    name = f"channel-{new_id()}"
    defaults: dict[str, Any] = {
        "name": name,
        "kind": "webhook",
        "url": receiver.url(name),
        "secret": SECRET,
        "scope": "global",
        "pipeline_type_id": None,
        "pipeline_id": None,
        "min_severity": "info",
        "suppression_minutes": 60,
        "active": True,
    }
    return await notifications.create_channel(container.uow_factory(), defaults | fields)


def draft(
    pipeline_id: int,
    *,
    severity: str = "warning",
    condition: str | None = None,
    pipeline_type_id: int | None = None,
    alert_type: str = "freshness",
) -> AlertDraft:
    occurrence = new_id()
    return AlertDraft(
        alert_type=alert_type,
        severity=severity,
        msg=f"Pipeline {pipeline_id} is stale (occurrence {occurrence})",
        dedup_key=f"{alert_type}:{pipeline_id}:{occurrence}",
        condition_key=condition or f"{alert_type}:{pipeline_id}",
        body={"occurrence": occurrence},
        pipeline_id=pipeline_id,
        pipeline_name=f"pipeline-{pipeline_id}",
        pipeline_type_id=pipeline_type_id if pipeline_type_id is not None else new_id(),
    )


async def raise_now(container: Container, *drafts: AlertDraft) -> list[Alert]:
    uow = container.uow_factory()
    async with uow:
        rows = await raise_alerts(uow, drafts)
        await uow.commit()
    assert len(rows) == len(drafts)
    by_key = {r.dedup_key: r for r in rows}
    return [by_key[d.dedup_key] for d in drafts]  # in the order of the drafts


async def deliveries(container: Container, channel_id: int) -> dict[int, Delivery]:
    """The channel's deliveries by alert id."""
    rows = await notifications.list_deliveries(container.uow_factory(), channel_id, 1000)
    return {r.alert_id: r for r in rows}


async def settled(container: Container, channel_id: int, expected: int) -> dict[int, Delivery]:
    """Wait until the channel has `expected` deliveries and none is pending; return them by alert id."""

    async def check() -> dict[int, Delivery]:
        found = await deliveries(container, channel_id)
        assert len(found) == expected, found
        assert all(d.status != "pending" for d in found.values()), list(found.values())
        return found

    return await eventually(check, timeout=30)


def receiver_verifies(raw_body: bytes, headers: dict[str, str]) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Headwater-Signature"])


# -- delivery ------------------------------------------------------------------------------------------------------


async def test_a_raised_alert_is_delivered_once_and_signed(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    channel = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    (alert,) = await raise_now(container, draft(pipeline, severity="critical"))

    found = await settled(container, channel.id, 1)
    delivery = found[alert.id]
    assert delivery.status == "delivered"
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (1, 200, None)
    assert delivery.delivered_at is not None

    (request,) = receiver.requests(channel.name)
    assert receiver_verifies(request.body, request.headers)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Headwater-Delivery"] == str(delivery.id)
    payload = request.json()
    assert payload["event"] == "alert.raised"
    assert payload["delivery_id"] == str(delivery.id)
    assert payload["timestamp"] == int(request.headers["X-Headwater-Timestamp"])
    assert payload["alert"]["id"] == alert.id
    assert payload["alert"]["severity"] == "critical"
    assert payload["alert"]["pipeline_id"] == pipeline
    assert payload["alert"]["msg"] == alert.msg
    assert payload["alert"]["details"] == alert.body

    # Raising the same occurrence again neither raises an alert nor sends anything.
    uow = container.uow_factory()
    async with uow:
        assert await raise_alerts(uow, [replace(draft(pipeline), dedup_key=alert.dedup_key)]) == []
        await uow.commit()
    await notifier.drain()
    assert len(receiver.requests(channel.name)) == 1


async def test_a_slack_channel_gets_text_and_blocks(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    channel = await make_channel(
        container, receiver, kind="slack", secret=None, scope="pipeline", pipeline_id=pipeline
    )
    (alert,) = await raise_now(container, draft(pipeline, severity="critical"))
    await settled(container, channel.id, 1)

    (request,) = receiver.requests(channel.name)
    assert "X-Headwater-Signature" not in request.headers
    payload = request.json()
    assert set(payload) == {"text", "blocks"}
    assert payload["text"].startswith(f":rotating_light: [CRITICAL] Stale pipeline: pipeline-{pipeline}")
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "context"]
    assert payload["blocks"][1]["text"] == {"type": "mrkdwn", "text": alert.msg}
    assert f"Headwater alert {alert.id}" in payload["blocks"][3]["elements"][0]["text"]


# -- retries and failures --------------------------------------------------------------------------------------------


async def test_server_errors_are_retried_with_backoff_until_delivered(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    channel = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    receiver.answer(channel.name, 500, 500)
    (alert,) = await raise_now(container, draft(pipeline))

    delivery = (await settled(container, channel.id, 1))[alert.id]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert delivery.last_error == "HTTP 500"  # why it took three attempts (never the receiver's body)

    requests = receiver.requests(channel.name)
    assert len(requests) == 3
    assert len({r.headers["X-Headwater-Delivery"] for r in requests}) == 1  # one delivery, three attempts
    assert all(receiver_verifies(r.body, r.headers) for r in requests)  # each attempt signed afresh
    gaps = [b.at - a.at for a, b in itertools.pairwise(requests)]
    assert gaps[0] >= BACKOFF * 0.9
    assert gaps[1] >= 2 * BACKOFF * 0.9  # doubled


async def test_a_delivery_fails_after_the_last_attempt(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    channel = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    receiver.answer(channel.name, *[503] * ATTEMPTS)
    (alert,) = await raise_now(container, draft(pipeline))

    delivery = (await settled(container, channel.id, 1))[alert.id]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "failed",
        ATTEMPTS,
        503,
    )
    assert delivery.last_error == "HTTP 503"
    assert delivery.delivered_at is None
    await notifier.drain()
    assert len(receiver.requests(channel.name)) == ATTEMPTS  # and nothing after the last


async def test_a_client_error_fails_at_once_but_429_is_retried(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    gone = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    busy = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    receiver.answer(gone.name, 404)
    receiver.answer(busy.name, 429)
    (alert,) = await raise_now(container, draft(pipeline))

    failed = (await settled(container, gone.id, 1))[alert.id]
    assert (failed.status, failed.attempts, failed.last_status_code) == ("failed", 1, 404)
    delivered = (await settled(container, busy.id, 1))[alert.id]
    assert (delivered.status, delivered.attempts) == ("delivered", 2)


async def test_an_unreachable_receiver_is_recorded_as_a_network_error(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    closed = WebhookReceiver()
    await closed.start()
    url = closed.url("nobody")
    await closed.stop()  # nothing listens there any more: connection refused
    pipeline = new_id()
    channel = await make_channel(container, receiver, url=url, scope="pipeline", pipeline_id=pipeline)
    (alert,) = await raise_now(container, draft(pipeline))

    delivery = (await settled(container, channel.id, 1))[alert.id]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "failed",
        ATTEMPTS,
        None,
    )
    assert "Connect" in (delivery.last_error or "")


async def test_a_delivery_to_a_destination_not_allowed_fails_at_once_unsent(
    container: Container, receiver: WebhookReceiver, dsn: str
) -> None:
    """Without the operator's allow-list, a receiver on loopback is out of reach: one refused attempt."""
    pipeline = new_id()
    channel = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    (alert,) = await raise_now(container, draft(pipeline))
    async with running_notifier(container, dsn, sender=HttpSender(timeout=5, destinations=Destinations())):
        delivery = (await settled(container, channel.id, 1))[alert.id]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, None)
    assert (delivery.last_error or "").startswith("destination refused: 127.0.0.1 is 127.0.0.1 (loopback)")
    assert receiver.requests(channel.name) == []


# -- what goes where -------------------------------------------------------------------------------------------------


async def test_alerts_below_the_minimum_severity_are_not_sent(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    channel = await make_channel(
        container, receiver, scope="pipeline", pipeline_id=pipeline, min_severity="warning"
    )
    info, warning, critical = await raise_now(
        container,
        draft(pipeline, severity="info", condition=f"a:{new_id()}"),
        draft(pipeline, severity="warning", condition=f"b:{new_id()}"),
        draft(pipeline, severity="critical", condition=f"c:{new_id()}"),
    )
    found = await settled(container, channel.id, 2)
    assert set(found) == {warning.id, critical.id}
    assert info.id not in found
    sent = {r.json()["alert"]["id"] for r in receiver.requests(channel.name)}
    assert sent == {warning.id, critical.id}


async def test_channels_get_the_alerts_of_their_scope(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline_type, other_type = new_id(), new_id()
    pipeline, sibling, stranger = new_id(), new_id(), new_id()
    of_type = await make_channel(container, receiver, scope="pipeline_type", pipeline_type_id=pipeline_type)
    of_pipeline = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    everywhere = await make_channel(container, receiver, scope="global")
    try:
        mine, same_type, elsewhere = await raise_now(
            container,
            draft(pipeline, pipeline_type_id=pipeline_type),
            draft(sibling, pipeline_type_id=pipeline_type),
            draft(stranger, pipeline_type_id=other_type),
        )
        assert set(await settled(container, of_type.id, 2)) == {mine.id, same_type.id}
        assert set(await settled(container, of_pipeline.id, 1)) == {mine.id}

        async def global_got_all() -> None:
            found = await deliveries(container, everywhere.id)
            ids = {mine.id, same_type.id, elsewhere.id}
            assert ids <= set(found)
            assert all(found[i].status == "delivered" for i in ids)

        await eventually(global_got_all, timeout=30)
    finally:  # a global channel would catch every later test's alerts
        await notifications.update_channel(container.uow_factory(), everywhere.id, {"active": False})


async def test_an_alert_without_its_type_reaches_the_type_channel_through_the_pipeline_settings(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline, pipeline_type = new_id(), new_id()
    await write(
        container.engine,
        "INSERT INTO pipeline_settings (pipeline_id, name, pipeline_type_id, pipeline_type_name, as_of) "
        "VALUES (:pipeline, :name, :type, :type_name, now())",
        pipeline=pipeline,
        name=f"p{pipeline}",
        type=pipeline_type,
        type_name=f"t{pipeline_type}",
    )
    channel = await make_channel(container, receiver, scope="pipeline_type", pipeline_type_id=pipeline_type)
    untyped = replace(draft(pipeline, alert_type="anomaly"), pipeline_type_id=None)
    (alert,) = await raise_now(container, untyped)
    assert alert.pipeline_type_id is None
    assert (await settled(container, channel.id, 1))[alert.id].status == "delivered"


async def test_an_inactive_channel_gets_nothing(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    channel = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline, active=False)
    await raise_now(container, draft(pipeline))
    assert await deliveries(container, channel.id) == {}


# -- suppression -----------------------------------------------------------------------------------------------------


async def test_repeats_of_a_condition_are_suppressed_within_the_window(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    channel = await make_channel(
        container, receiver, scope="pipeline", pipeline_id=pipeline, suppression_minutes=5
    )
    condition = f"freshness:{pipeline}"
    (first,) = await raise_now(container, draft(pipeline, condition=condition))
    await settled(container, channel.id, 1)
    (repeat,) = await raise_now(container, draft(pipeline, condition=condition))
    (other,) = await raise_now(container, draft(pipeline, condition=f"timeliness:{pipeline}"))

    found = await settled(container, channel.id, 3)
    assert found[first.id].status == "delivered"
    assert found[repeat.id].status == "suppressed"
    assert found[other.id].status == "delivered"  # another condition is not suppressed

    # Once the window has passed (the first delivery is made older than it), the condition is sent again.
    await write(
        container.engine,
        "UPDATE notification_delivery SET created_at = created_at - interval '6 minutes' "
        "WHERE channel_id = :channel AND alert_id = ANY(CAST(:ids AS bigint[]))",
        channel=channel.id,
        ids=[first.id, repeat.id],
    )
    (later,) = await raise_now(container, draft(pipeline, condition=condition))
    found = await settled(container, channel.id, 4)
    assert found[later.id].status == "delivered"
    sent = [r.json()["alert"]["id"] for r in receiver.requests(channel.name)]
    assert sorted(sent) == sorted([first.id, other.id, later.id])


async def test_repeats_within_one_batch_are_suppressed_unless_the_window_is_zero(
    container: Container, receiver: WebhookReceiver, notifier: Notifier
) -> None:
    pipeline = new_id()
    windowed = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    unwindowed = await make_channel(
        container, receiver, scope="pipeline", pipeline_id=pipeline, suppression_minutes=0
    )
    condition = f"timeliness:{pipeline}"
    a, b = sorted(
        await raise_now(
            container, draft(pipeline, condition=condition), draft(pipeline, condition=condition)
        ),
        key=lambda r: r.id,
    )  # the earlier alert of a batch is the one sent

    found = await settled(container, windowed.id, 2)
    assert (found[a.id].status, found[b.id].status) == ("delivered", "suppressed")
    found = await settled(container, unwindowed.id, 2)
    assert (found[a.id].status, found[b.id].status) == ("delivered", "delivered")


async def test_concurrent_raises_of_one_condition_notify_once(
    container: Container, receiver: WebhookReceiver
) -> None:
    """Two transactions raising the same condition at once: the second waits for the first and is suppressed."""
    pipeline = new_id()
    channel = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    condition = f"freshness:{pipeline}"
    first = container.uow_factory()
    async with first:
        (a,) = await raise_alerts(first, [draft(pipeline, condition=condition)])
        second = asyncio.create_task(raise_now(container, draft(pipeline, condition=condition)))

        async def second_waits_for_the_first() -> None:
            async with container.engine.connect() as conn:
                waiting = await conn.scalar(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                )
            assert waiting, "the second transaction should wait for the first"
            assert not second.done()

        await eventually(second_waits_for_the_first, timeout=10)
        await first.commit()
    (b,) = await second
    found = await deliveries(container, channel.id)
    assert (found[a.id].status, found[b.id].status) == ("pending", "suppressed")


# -- concurrency -----------------------------------------------------------------------------------------------------


async def test_two_notifiers_never_deliver_one_alert_twice(
    container: Container, receiver: WebhookReceiver, dsn: str
) -> None:
    pipeline = new_id()
    channel = await make_channel(container, receiver, scope="pipeline", pipeline_id=pipeline)
    count = 40
    receiver.answer(channel.name, *[200] * count, delay=0.02)  # slow enough for the two to overlap
    alerts = await raise_now(
        container, *(draft(pipeline, condition=f"c{i}:{pipeline}") for i in range(count))
    )
    one, two = (CountingSender(timeout=5, destinations=Destinations.parse(LOOPBACK)) for _ in range(2))
    async with (
        running_notifier(container, dsn, sender=one, batch_size=5),
        running_notifier(container, dsn, sender=two, batch_size=5),
    ):
        found = await settled(container, channel.id, count)
    assert {d.status for d in found.values()} == {"delivered"}
    assert all(d.attempts == 1 for d in found.values())
    requests = receiver.requests(channel.name)
    assert len(requests) == count
    assert sorted(r.json()["alert"]["id"] for r in requests) == sorted(a.id for a in alerts)
    assert len({r.headers["X-Headwater-Delivery"] for r in requests}) == count
    assert one.sent > 0  # both took part
    assert two.sent > 0


# -- the internal API -------------------------------------------------------------------------------------------------


@asynccontextmanager
async def api(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The internal HTTP app served in this event loop (where the container's connections live)."""
    transport = httpx.ASGITransport(app=create_app(container))  # pyright: ignore[reportArgumentType]
    auth = SignedCalls(container.settings.internal_signing_key)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://quality-alerting", auth=auth
    ) as client:
        yield client


def body(receiver: WebhookReceiver, **fields: Any) -> dict[str, Any]:
    name = f"api-{new_id()}"
    return {"name": name, "kind": "webhook", "url": receiver.url(name), "secret": SECRET} | fields


async def test_channels_over_http(container: Container, receiver: WebhookReceiver) -> None:
    base = "/api/v1/notification_channels"
    async with api(container) as client:
        created = await client.post(base, json=body(receiver, scope="pipeline", pipeline_id=5))
        assert created.status_code == 201, created.text
        channel = created.json()
        assert "secret" not in channel
        assert channel["has_secret"] is True
        assert (channel["scope"], channel["pipeline_id"], channel["min_severity"]) == ("pipeline", 5, "info")
        assert (channel["suppression_minutes"], channel["active"], channel["updated_at"]) == (60, True, None)
        url = f"{base}/{channel['id']}"

        duplicate = await client.post(base, json=body(receiver, name=channel["name"]))
        assert duplicate.status_code == 409

        assert (await client.get(url)).json() == channel
        assert channel in (await client.get(base)).json()
        assert (await client.get(f"{base}/{new_id()}")).status_code == 404
        assert (await client.get(f"{base}/{2**70}")).status_code == 404

        patched = await client.patch(url, json={"scope": "global", "min_severity": "critical"})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["scope"], patched.json()["pipeline_id"]) == ("global", None)
        assert patched.json()["min_severity"] == "critical"
        assert patched.json()["updated_at"] is not None
        other = (await client.post(base, json=body(receiver, active=False))).json()
        assert (await client.patch(url, json={"name": other["name"]})).status_code == 409
        assert (await client.patch(url, json={"secret": None})).status_code == 422
        assert (await client.patch(url, json={"scope": "pipeline_type"})).status_code == 422
        assert (await client.patch(f"{base}/{new_id()}", json={"active": False})).status_code == 404
        slack = await client.patch(url, json={"kind": "slack", "secret": None, "active": False})
        assert (slack.json()["kind"], slack.json()["has_secret"], slack.json()["active"]) == (
            "slack",
            False,
            False,
        )

        listed = await client.get(f"{url}/deliveries", params={"limit": 10})
        assert (listed.status_code, listed.json()) == (200, [])
        assert (await client.get(f"{url}/deliveries", params={"limit": 0})).status_code == 422
        assert (await client.get(f"{base}/{new_id()}/deliveries")).status_code == 404

        assert (await client.delete(url)).status_code == 204
        assert (await client.get(url)).status_code == 404
        assert (await client.delete(url)).status_code == 404


async def test_the_channel_list_is_paged_in_id_order(container: Container, receiver: WebhookReceiver) -> None:
    base = "/api/v1/notification_channels"
    async with api(container) as client:
        ids = [(await client.post(base, json=body(receiver))).json()["id"] for _ in range(3)]
        listed = [c["id"] for c in (await client.get(base)).json()]
        assert listed == sorted(listed)
        start = listed.index(ids[0])
        page = await client.get(base, params={"limit": 2, "offset": start})
        assert [c["id"] for c in page.json()] == ids[:2]
        assert (await client.get(base, params={"limit": 0})).status_code == 422
        assert (await client.get(base, params={"limit": MAX_CHANNELS_LIMIT + 1})).status_code == 422


async def test_a_slack_url_is_shown_only_to_who_may_edit_the_channel(container: Container) -> None:
    """A Slack incoming-webhook URL is a bearer secret: readers see where it goes, not the token."""
    base = "/api/v1/notification_channels"
    secret_url = "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx"
    fields = {"name": f"slack-{new_id()}", "kind": "slack", "url": secret_url}
    async with api(container) as client:
        created = (await client.post(base, json=fields)).json()
        url = f"{base}/{created['id']}"
        for role in ("read_only", "billing"):
            reader = {HEADER: Principal(subject="9", role=role).header()}
            shown = (await client.get(url, headers=reader)).json()
            assert shown["url"] == "https://hooks.slack.com/***"
            listed = {c["id"]: c for c in (await client.get(base, headers=reader)).json()}
            assert listed[created["id"]]["url"] == "https://hooks.slack.com/***"
        for role in ("editor", "superuser"):
            editor = {HEADER: Principal(subject="9", role=role).header()}
            assert (await client.get(url, headers=editor)).json()["url"] == secret_url
        assert created["url"] == secret_url


async def test_a_test_send_to_the_services_neighbours_is_refused(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    """The internal APIs and the cloud metadata service are not for channels to reach (no allow-list here):
    the test send answers that it was refused, and sends nothing."""
    app = create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))
    async with AsyncTestClient(app) as client:
        client.auth = SignedCalls(stack.internal_signing_key)
        for url, kind in [
            (receiver.url("neighbour"), "loopback"),  # e.g. http://127.0.0.1:8082/alerts/1/mute
            ("http://169.254.169.254/latest/meta-data/", "link_local"),
            ("http://[fd00:ec2::254]/latest/meta-data/", "unique_local"),
        ]:
            channel = await client.post(
                "/api/v1/notification_channels", json=body(receiver, url=url, name=f"n-{new_id()}")
            )
            assert channel.status_code == 201, channel.text
            tested = await client.post(f"/api/v1/notification_channels/{channel.json()['id']}/test")
            assert tested.status_code == 200, tested.text
            answer = tested.json()
            assert (answer["delivered"], answer["status_code"]) == (False, None)
            assert f"({kind}), not a public address" in answer["error"]
    assert receiver.requests("neighbour") == []


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "email"},
        {"scope": "team"},
        {"min_severity": "fatal"},
        {"url": "ftp://example.com/hook"},
        {"url": "not a url"},
        {"scope": "pipeline"},
        {"scope": "pipeline_type"},
        {"scope": "pipeline", "pipeline_id": 0},
        {"pipeline_id": 5},
        {"secret": None},
        {"secret": "too-short"},
        {"suppression_minutes": -1},
        {"colour": "red"},
    ],
)
async def test_bad_channels_are_refused_with_422(
    container: Container, receiver: WebhookReceiver, fields: dict[str, Any]
) -> None:
    async with api(container) as client:
        answer = await client.post("/api/v1/notification_channels", json=body(receiver, **fields))
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"]


async def test_a_test_message_is_sent_at_once(container: Container, receiver: WebhookReceiver) -> None:
    async with api(container) as client:
        ok = (await client.post("/api/v1/notification_channels", json=body(receiver))).json()
        tested = await client.post(f"/api/v1/notification_channels/{ok['id']}/test")
        assert tested.status_code == 200, tested.text
        assert tested.json()["delivered"] is True
        assert (tested.json()["status_code"], tested.json()["error"]) == (200, None)
        (request,) = receiver.requests(ok["name"])
        assert receiver_verifies(request.body, request.headers)
        assert request.json()["event"] == "test"
        assert request.headers["X-Headwater-Delivery"].startswith("test-")

        broken = (await client.post("/api/v1/notification_channels", json=body(receiver))).json()
        receiver.answer(broken["name"], 500)
        failed = (await client.post(f"/api/v1/notification_channels/{broken['id']}/test")).json()
        assert failed["delivered"] is False
        assert (failed["status_code"], failed["error"]) == (500, None)  # the receiver's body is not echoed
        assert (await client.post(f"/api/v1/notification_channels/{new_id()}/test")).status_code == 404

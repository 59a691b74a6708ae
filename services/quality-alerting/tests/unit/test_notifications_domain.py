"""Notifications, pure: channel rules, Slack and webhook messages, the signature as a receiver checks it, backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from headwater.quality_alerting.domain.notifications import (
    MAX_BACKOFF_SECONDS,
    InvalidChannel,
    SendResult,
    Verdict,
    after_attempt,
    backoff_seconds,
    build_request,
    check_channel,
    classify,
    merge_channel,
    sample_alert,
    sign,
    slack_payload,
    verify,
    webhook_body,
)

SECRET = "s3cret-s3cret-s3cret"
ALERT: dict[str, Any] = {
    "id": 42,
    "alert_type": "freshness",
    "severity": "critical",
    "pipeline_id": 7,
    "pipeline_name": "orders <daily> & co",
    "pipeline_type_id": 3,
    "execution_id": None,
    "msg": "Pipeline orders is stale: <!channel> last DML 2024-01-01T00:00:00+00:00",
    "body": {"last_dml_at": "2024-01-01T00:00:00+00:00", "due_at": "2024-01-01T01:00:00+00:00"},
    "condition_key": "freshness:7",
    "created_at": datetime(2024, 1, 1, 2, 0, tzinfo=UTC),
}


def channel(**changes: Any) -> dict[str, Any]:
    return {
        "name": "ops",
        "kind": "webhook",
        "url": "https://hooks.example.com/headwater",
        "secret": SECRET,
        "scope": "global",
        "pipeline_type_id": None,
        "pipeline_id": None,
    } | changes


# -- channel rules -----------------------------------------------------------------------------------------------


def test_a_well_formed_channel_passes() -> None:
    check_channel(channel())
    check_channel(channel(kind="slack", secret=None))
    check_channel(channel(scope="pipeline", pipeline_id=5))
    check_channel(channel(scope="pipeline_type", pipeline_type_id=2))


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"secret": None}, "needs a secret"),
        ({"scope": "pipeline"}, "needs pipeline_id"),
        ({"scope": "pipeline_type"}, "needs pipeline_type_id"),
        ({"pipeline_id": 5}, "pipeline_id is only for scope 'pipeline'"),
        ({"scope": "pipeline", "pipeline_id": 5, "pipeline_type_id": 2}, "pipeline_type_id is only"),
        ({"url": "ftp://example.com/x"}, "absolute http(s) URL"),
        ({"url": "/relative/path"}, "absolute http(s) URL"),
        ({"url": "https://exa mple.com/"}, "absolute http(s) URL"),
        ({"url": "http://"}, "absolute http(s) URL"),
    ],
)
def test_contradictions_are_refused(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidChannel, match=complaint.replace("(", r"\(").replace(")", r"\)")):
        check_channel(channel(**changes))


def test_a_new_scope_drops_the_ids_it_does_not_use() -> None:
    current = channel(scope="pipeline", pipeline_id=5)
    assert merge_channel(current, {"scope": "global"})["pipeline_id"] is None
    merged = merge_channel(current, {"scope": "pipeline_type", "pipeline_type_id": 9})
    assert (merged["pipeline_id"], merged["pipeline_type_id"]) == (None, 9)
    with pytest.raises(InvalidChannel, match="needs pipeline_type_id"):
        merge_channel(current, {"scope": "pipeline_type"})
    with pytest.raises(InvalidChannel, match="needs a secret"):
        merge_channel(channel(kind="slack", secret=None), {"kind": "webhook"})


# -- messages ----------------------------------------------------------------------------------------------------


def test_slack_message_has_text_and_blocks_with_markup_escaped() -> None:
    payload = slack_payload(ALERT)
    assert set(payload) == {"text", "blocks"}
    assert payload["text"].startswith(
        ":rotating_light: [CRITICAL] Stale pipeline: orders &lt;daily&gt; &amp; co"
    )
    assert "<!channel>" not in json.dumps(payload)  # user text cannot ping a whole Slack channel
    header, message, facts, context = payload["blocks"]
    assert header["type"] == "header"
    assert header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= 150
    assert message["text"]["text"].startswith("Pipeline orders is stale: &lt;!channel&gt;")
    texts = [f["text"] for f in facts["fields"]]
    assert texts[:2] == ["*Severity*\ncritical", "*Type*\nfreshness"]
    assert "*Pipeline*\norders &lt;daily&gt; &amp; co (id 7)" in texts
    assert not any(t.startswith("*Execution*") for t in texts)  # none for this alert
    assert "Headwater alert 42" in context["elements"][0]["text"]


def test_slack_message_respects_size_limits() -> None:
    long = {**ALERT, "msg": "x" * 5000, "pipeline_name": "p" * 400}
    payload = slack_payload(long)
    assert len(payload["text"]) <= 3000
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert len(payload["blocks"][1]["text"]["text"]) <= 3000


def test_webhook_body_carries_the_alert_and_the_signed_delivery_id_and_timestamp() -> None:
    body = json.loads(webhook_body(ALERT, delivery_id="17", timestamp=1_700_000_000))
    assert body["event"] == "alert.raised"
    assert (body["delivery_id"], body["timestamp"]) == ("17", 1_700_000_000)
    alert = body["alert"]
    assert alert["id"] == 42
    assert alert["severity"] == "critical"
    assert alert["details"] == ALERT["body"]
    assert alert["condition_key"] == "freshness:7"
    assert alert["created_at"] == "2024-01-01T02:00:00Z"
    assert "body" not in alert


def test_a_test_message_says_so() -> None:
    alert = sample_alert("ops", datetime(2024, 1, 1, tzinfo=UTC))
    assert json.loads(webhook_body(alert, delivery_id="test-1", timestamp=1))["event"] == "test"
    assert "Test notification" in slack_payload(alert)["text"]


# -- the signature, checked the way a receiver does ----------------------------------------------------------------


def receiver_accepts(secret: str, raw_body: bytes, headers: dict[str, str], now: int) -> bool:
    """A receiver written from the README alone: HMAC-SHA256 of the raw body, constant-time comparison,
    then the timestamp inside the signed body must match the header and be recent."""
    expected = "sha256=" + hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers.get("X-Headwater-Signature", "")):
        return False
    payload = json.loads(raw_body)
    timestamp = int(headers["X-Headwater-Timestamp"])
    return (
        payload["timestamp"] == timestamp
        and payload["delivery_id"] == headers["X-Headwater-Delivery"]
        and abs(now - timestamp) <= 300
    )


def test_a_receiver_verifies_the_webhook_signature() -> None:
    body, headers = build_request("webhook", SECRET, ALERT, delivery_id="17", timestamp=1_700_000_000)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Headwater-Signature"].startswith("sha256=")
    assert receiver_accepts(SECRET, body, headers, now=1_700_000_030)
    assert verify(SECRET, body, headers["X-Headwater-Signature"])


def test_a_receiver_refuses_tampering_a_wrong_secret_and_replays() -> None:
    body, headers = build_request("webhook", SECRET, ALERT, delivery_id="17", timestamp=1_700_000_000)
    tampered = body.replace(b'"critical"', b'"info"')
    assert not receiver_accepts(SECRET, tampered, headers, now=1_700_000_000)
    assert not receiver_accepts("another-secret-entirely", body, headers, now=1_700_000_000)
    assert not receiver_accepts(
        SECRET, body, {**headers, "X-Headwater-Timestamp": "1700000999"}, 1_700_000_999
    )
    assert not receiver_accepts(SECRET, body, headers, now=1_700_000_000 + 3600)  # an old message replayed
    assert not verify(SECRET, tampered, headers["X-Headwater-Signature"])


def test_the_signature_is_the_hmac_of_the_exact_bytes() -> None:
    body = b'{"a": 1}'
    assert sign("k" * 16, body) == "sha256=" + hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert sign("k" * 16, body) != sign("k" * 16, b'{"a":1}')  # re-serialised JSON is not the same message


def test_slack_requests_are_not_signed() -> None:
    body, headers = build_request("slack", None, ALERT, delivery_id="1", timestamp=1)
    assert headers == {"Content-Type": "application/json"}
    assert json.loads(body)["text"]


def test_a_webhook_without_secret_cannot_be_built() -> None:
    with pytest.raises(InvalidChannel):
        build_request("webhook", None, ALERT, delivery_id="1", timestamp=1)


# -- retries -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "verdict"),
    [
        (SendResult(200), Verdict.DELIVERED),
        (SendResult(204), Verdict.DELIVERED),
        (SendResult(None, error="connection refused"), Verdict.RETRY),
        (SendResult(408), Verdict.RETRY),
        (SendResult(429), Verdict.RETRY),
        (SendResult(500), Verdict.RETRY),
        (SendResult(503), Verdict.RETRY),
        (SendResult(400), Verdict.PERMANENT),
        (SendResult(401), Verdict.PERMANENT),
        (SendResult(404), Verdict.PERMANENT),
        (SendResult(410), Verdict.PERMANENT),
        (SendResult(301), Verdict.PERMANENT),
    ],
)
def test_what_is_retried(result: SendResult, verdict: Verdict) -> None:
    assert classify(result) is verdict


def test_backoff_doubles_from_the_base_up_to_an_hour() -> None:
    assert [backoff_seconds(n, 1.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert backoff_seconds(1, 0.01) == 0.01
    assert backoff_seconds(40, 1.0) == MAX_BACKOFF_SECONDS


def test_a_delivery_is_retried_then_failed_after_the_last_attempt() -> None:
    error = SendResult(500, error="boom")
    first = after_attempt(0, error, max_attempts=3, backoff_base=1.0)
    assert (first.status, first.attempts, first.retry_in, first.last_status_code) == ("pending", 1, 1.0, 500)
    assert first.last_error == "HTTP 500: boom"
    second = after_attempt(1, error, max_attempts=3, backoff_base=1.0)
    assert (second.status, second.retry_in) == ("pending", 2.0)
    last = after_attempt(2, error, max_attempts=3, backoff_base=1.0)
    assert (last.status, last.attempts, last.retry_in) == ("failed", 3, None)


def test_a_permanent_answer_fails_at_once_and_success_delivers() -> None:
    gone = after_attempt(0, SendResult(404, error="no such hook"), max_attempts=5, backoff_base=1.0)
    assert (gone.status, gone.attempts, gone.last_error) == ("failed", 1, "HTTP 404: no such hook")
    ok = after_attempt(2, SendResult(200), max_attempts=5, backoff_base=1.0)
    assert (ok.status, ok.attempts, ok.last_error, ok.last_status_code) == ("delivered", 3, None, 200)


def test_retry_after_lengthens_the_wait_but_never_past_the_cap() -> None:
    asked = after_attempt(0, SendResult(429, retry_after=30.0), max_attempts=5, backoff_base=1.0)
    assert asked.retry_in == 30.0
    shorter = after_attempt(3, SendResult(429, retry_after=1.0), max_attempts=5, backoff_base=1.0)
    assert shorter.retry_in == 8.0
    huge = after_attempt(0, SendResult(503, retry_after=10**9), max_attempts=5, backoff_base=1.0)
    assert huge.retry_in == MAX_BACKOFF_SECONDS


def test_a_network_error_is_recorded_as_such() -> None:
    timed_out = after_attempt(
        0, SendResult(None, error="timed out after 10 s"), max_attempts=5, backoff_base=1
    )
    assert (timed_out.last_error, timed_out.last_status_code) == ("timed out after 10 s", None)

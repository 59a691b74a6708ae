"""Upload tokens of the local store: valid, expired, tampered, signed with another secret, malformed."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from headwater.ingestion.domain.upload_tokens import (
    ExpiredToken,
    MalformedToken,
    TamperedToken,
    UploadClaims,
    new_nonce,
    nonce_of,
    sign_upload,
    verify_upload,
)

SECRET = b"s" * 32
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _sign(**overrides: object) -> tuple[str, UploadClaims]:
    fields: dict[str, object] = {
        "item_id": "item-1",
        "key": "uploads/item-1/data.csv",
        "expires_in": timedelta(minutes=15),
    }
    fields.update(overrides)
    return sign_upload(SECRET, now=NOW, **fields)  # type: ignore[arg-type]


def test_a_valid_token_gives_back_its_claims() -> None:
    token, claims = _sign()

    verified = verify_upload(SECRET, token, now=NOW + timedelta(minutes=14))

    assert verified == claims
    assert (verified.item_id, verified.key) == ("item-1", "uploads/item-1/data.csv")
    assert verified.expires_at == int((NOW + timedelta(minutes=15)).timestamp())
    assert token.isascii()
    assert not set(token) & {"/", "+", "="}  # fits in a URL path as is


def test_an_expired_token_is_refused() -> None:
    token, _ = _sign()

    with pytest.raises(ExpiredToken, match="expired at 2026-12-03T12:15:00"):
        verify_upload(SECRET, token, now=NOW + timedelta(minutes=15))


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token, _ = _sign()

    with pytest.raises(TamperedToken):
        verify_upload(b"t" * 32, token, now=NOW)


def test_changed_claims_are_refused() -> None:
    token, claims = _sign()
    version, _payload, signature = token.split(".")
    longer = msgspec.structs.replace(claims, expires_at=claims.expires_at + 86400, key="uploads/other.csv")
    forged = base64.urlsafe_b64encode(msgspec.json.encode(longer)).rstrip(b"=").decode()

    with pytest.raises(TamperedToken):
        verify_upload(SECRET, f"{version}.{forged}.{signature}", now=NOW)


def test_a_changed_signature_is_refused() -> None:
    token, _ = _sign()
    flipped = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

    with pytest.raises(TamperedToken):
        verify_upload(SECRET, flipped, now=NOW)


@pytest.mark.parametrize("token", ["", "v1", "v1.abc", "v2.abc.def", "v1.abc.%%%", "v1." + "a" * 5000 + ".b"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises((MalformedToken, TamperedToken)):
        verify_upload(SECRET, token, now=NOW)


def test_each_token_has_its_own_nonce_and_the_recorded_value_binds_the_item() -> None:
    _, first = _sign()
    _, second = _sign()
    _, other_item = _sign(item_id="item-2", nonce=first.nonce)

    assert first.nonce != second.nonce
    assert len(new_nonce()) >= 22
    assert nonce_of(first) != nonce_of(second)
    assert nonce_of(first) != nonce_of(other_item)
    assert nonce_of(first) == nonce_of(msgspec.structs.replace(first))


def test_weak_secrets_and_past_expiries_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sign_upload(b"short", item_id="i", key="k", expires_in=timedelta(minutes=1))
    with pytest.raises(ValueError, match="at least 32 bytes"):
        verify_upload(b"short", "v1.a.b")
    with pytest.raises(ValueError, match="expire in the future"):
        sign_upload(SECRET, item_id="i", key="k", expires_in=timedelta(0))

"""Signed upload tokens for a local store: the gateway's stand-in for an S3/GCS pre-signed PUT URL.

A local folder has no URL of its own, so the gateway serves `PUT .../uploads/{token}` and checks the token
here: an HMAC-SHA256, under a server secret, of (stored item id, object key, expiry, nonce). Verification
compares in constant time, refuses an expired token, and refuses any change to the token's fields.

Single use is the caller's part: a token stays valid until it expires, so the upload endpoint records
`nonce_of(claims)` (a unique row, e.g. in the stored item's table) in the same transaction that accepts the
upload, and refuses a nonce already recorded. `new_nonce()` gives each signed URL a fresh nonce.

Pure: no I/O; the clock is a parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import msgspec

VERSION = "v1"
MIN_SECRET_BYTES = 32


class UploadTokenError(ValueError):
    """A token that must be refused; the message says why (for the log, not the uploader)."""


class MalformedToken(UploadTokenError):
    pass


class TamperedToken(UploadTokenError):
    pass


class ExpiredToken(UploadTokenError):
    pass


class UploadClaims(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """What a token allows: one upload of stored item `item_id` to `key`, until `expires_at` (Unix seconds)."""

    item_id: str
    key: str
    expires_at: int
    nonce: str


def new_nonce() -> str:
    """A fresh random nonce (128 bits, URL-safe) for one signed upload URL."""
    return secrets.token_urlsafe(16)


def nonce_of(claims: UploadClaims) -> str:
    """The value to record for single use: the nonce bound to its item, so equal nonces of two items differ."""
    return hashlib.sha256(f"{claims.item_id}\x00{claims.nonce}".encode()).hexdigest()


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"an upload signing secret has at least {MIN_SECRET_BYTES} bytes")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken("the token is not base64url") from None


def _mac(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, f"{VERSION}.{payload}".encode("ascii"), hashlib.sha256).digest()


def sign_upload(
    secret: bytes,
    *,
    item_id: str,
    key: str,
    expires_in: timedelta,
    now: datetime | None = None,
    nonce: str | None = None,
) -> tuple[str, UploadClaims]:
    """A token allowing one upload of `item_id` to `key` for `expires_in`, and the claims it carries."""
    _check_secret(secret)
    if expires_in <= timedelta(0):
        raise ValueError("an upload token must expire in the future")
    issued = now or datetime.now(UTC)
    claims = UploadClaims(
        item_id=item_id,
        key=key,
        expires_at=int((issued + expires_in).timestamp()),
        nonce=nonce or new_nonce(),
    )
    payload = _b64(msgspec.json.encode(claims))
    return f"{VERSION}.{payload}.{_b64(_mac(secret, payload))}", claims


def verify_upload(secret: bytes, token: str, *, now: datetime | None = None) -> UploadClaims:
    """The token's claims if `secret` signed it and it has not expired; an `UploadTokenError` otherwise.

    The caller still checks that the claims match the request (item, key) and that the nonce is unused.
    """
    _check_secret(secret)
    if len(token) > 4096:
        raise MalformedToken("the token is too long")
    version, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if version != VERSION or not payload or not signature:
        raise MalformedToken(f"not a {VERSION} upload token")
    if not hmac.compare_digest(_mac(secret, payload), _unb64(signature)):
        raise TamperedToken("the token's signature does not match (altered, or signed with another secret)")
    try:
        claims = msgspec.json.decode(_unb64(payload), type=UploadClaims)
    except msgspec.DecodeError:
        # Signed by us but unreadable: only possible across incompatible versions of this module.
        raise MalformedToken("the token's claims cannot be read") from None
    moment = now or datetime.now(UTC)
    if moment.timestamp() >= claims.expires_at:
        expired = datetime.fromtimestamp(claims.expires_at, UTC).isoformat()
        raise ExpiredToken(f"the token expired at {expired}")
    return claims

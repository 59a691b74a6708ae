"""Objects in the object store as the service sees them: what an upload or a download counted, what a listing
shows."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import msgspec

from headwater.ingestion.domain.storage_errors import InvalidKey


class StoredObject(msgspec.Struct, frozen=True, kw_only=True):
    """An object written or downloaded: its size and SHA-256 as counted while the bytes passed."""

    key: str
    size: int
    sha256: str
    etag: str | None = None


class ObjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    """An object as listed or looked up (what a sensor compares from one look to the next)."""

    key: str
    size: int
    last_modified: datetime
    etag: str | None = None


def validate_key(key: str) -> str:
    """`key` if it is a clean relative path of the store; `InvalidKey` otherwise."""
    if not key or len(key) > 1024:
        raise InvalidKey("an object key has 1 to 1024 characters")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKey(f"an object key neither starts nor ends with '/': {key!r}")
    if any(unicodedata.category(c) == "Cc" for c in key) or "\\" in key:
        raise InvalidKey(f"an object key holds no control characters or backslashes: {key!r}")
    if any(part in {"", ".", ".."} for part in key.split("/")):
        raise InvalidKey(f"an object key has no empty, '.' or '..' segments: {key!r}")
    return key

"""Objects in the object store as the service sees them: what an upload or a download counted, what a listing
shows."""

from __future__ import annotations

from datetime import datetime

import msgspec


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

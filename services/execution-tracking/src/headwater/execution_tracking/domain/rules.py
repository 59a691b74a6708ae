"""The Watcher rules: string normalisation, dateparts, duration, throughput and stable change detection."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import msgspec

# Watermarks are opaque to us: they keep their case and spaces.
UNTOUCHED_STRINGS = frozenset({"watermark", "next_watermark"})


class Datepart(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def normalise(fields: dict[str, Any]) -> dict[str, Any]:
    """Strip and lower-case every top-level string except watermarks; nested objects stay as sent."""
    return {
        k: v.strip().lower() if isinstance(v, str) and k not in UNTOUCHED_STRINGS else v
        for k, v in fields.items()
    }


def watermark_text(value: str | int | None) -> str | None:
    """Watermarks arrive as string, int, date or datetime and are stored as text."""
    return None if value is None else str(value)


def as_utc(moment: datetime) -> datetime:
    """A naive timestamp is taken to be UTC; an aware one is converted to UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def recorded_at(start: datetime) -> tuple[int, date]:
    """`hour_recorded` and `date_recorded`: the UTC hour and date of the start."""
    utc = as_utc(start)
    return utc.hour, utc.date()


def duration_seconds(start: datetime, end: datetime) -> int:
    """End - start in whole seconds, rounded half to even like the reference."""
    return round((as_utc(end) - as_utc(start)).total_seconds())


def throughput(total_rows: int | None, duration: int) -> float | None:
    """Rows per second rounded to 4 decimals; 0 for a zero duration; None without a row count."""
    if total_rows is None:
        return None
    if duration == 0:
        return 0.0
    return round(total_rows / duration, 4)


def request_digest(fields: dict[str, Any]) -> str:
    """A stable digest of an upsert request, to tell whether it differs from the last one.

    The reference uses Python's per-process `hash()`, which changes between processes; this does not.
    """
    return hashlib.sha256(msgspec.json.encode(fields, order="sorted")).hexdigest()

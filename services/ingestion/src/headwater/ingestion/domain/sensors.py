"""Sensors: a data source watching a prefix of the object store on a cron. What its 003 fields say (cron,
prefix, pattern), which listed objects are new, and where a new object's snapshot is kept; no I/O."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
from croniter import CroniterBadDateError, CroniterError, croniter

from headwater.ingestion.domain.files import object_key_for
from headwater.ingestion.domain.objects import ObjectInfo

OFF = frozenset({"", "off", "disabled", "none"})
# Headwater's own stored items live under this prefix; a sensor watching it would ingest its own snapshots.
STORED_ITEMS_ROOT = "data-sources/"
SNAPSHOT_FOLDER = "sensor"


class InvalidSensor(ValueError):
    """A sensor setting that cannot work; the message names the field, its value and what is expected."""


def job_name(data_source_id: int) -> str:
    """The name of a data source's sensor job: its schedule in the scheduler, its runs and fatal errors."""
    return f"sensor-{data_source_id}"


def parse_cron(expression: str | None) -> str | None:
    """003's `schedule`, whitespace normalised; None when it is empty or `off`; InvalidSensor when it is no cron."""
    if expression is None or expression.strip().lower() in OFF:
        return None
    cron = " ".join(expression.split())
    hint = "expected 5 fields `minute hour day month weekday` (UTC), or 6 with seconds last, or empty"
    try:
        croniter(cron, datetime.now(UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise InvalidSensor(f"schedule: {expression!r} is never due ({hint})") from None
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        raise InvalidSensor(
            f"schedule: {expression!r} is not a valid cron expression: {exc} ({hint})"
        ) from None
    return cron


def _prefix(body: Mapping[str, Any]) -> str | None:
    kind = body.get("data_source_type")
    fields = ("gs_prefix", "s3_prefix") if kind == "gs" else ("s3_prefix", "gs_prefix")
    for name in fields:
        value = body.get(name)
        if isinstance(value, str) and value.strip().strip("/"):
            return value.strip().strip("/") + "/"
    return None


class SensorSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A data source's sensor as its fields set it: `cron` (003 `schedule`), the watched `prefix` of the object
    store (`s3_prefix`, or `gs_prefix` for a `gs` data source), and `pattern`, a regular expression a file name
    (the key's last segment) must match in full to be picked up."""

    cron: str | None
    prefix: str | None
    pattern: str | None

    def matches(self, key: str) -> bool:
        if self.pattern is None:
            return True
        return re.fullmatch(self.pattern, key.rsplit("/", 1)[-1]) is not None


def sensor_settings(body: Mapping[str, Any]) -> SensorSettings:
    """The sensor of a data source's body; InvalidSensor naming the field when one cannot work."""
    cron = parse_cron(body.get("schedule"))
    prefix = _prefix(body)
    if prefix is not None and prefix.startswith(STORED_ITEMS_ROOT):
        raise InvalidSensor(
            f"s3_prefix/gs_prefix: {prefix!r} is where Headwater keeps stored items; watch another prefix"
        )
    pattern = body.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise InvalidSensor("pattern: a regular expression (a string)")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as e:
            raise InvalidSensor(f"pattern: {pattern!r} is not a regular expression: {e}") from None
    return SensorSettings(cron=cron, prefix=prefix, pattern=pattern or None)


class Seen(msgspec.Struct, frozen=True, kw_only=True):
    """An object a sensor recorded: the version it saw (ETag, size) and the stored item it became."""

    key: str
    etag: str | None
    size: int
    stored_item_id: int | None = None


def version_of(obj: ObjectInfo) -> str:
    """What tells one version of an object from the next: its ETag, or its modification time where the store
    gives none."""
    return obj.etag or obj.last_modified.isoformat()


def is_new(obj: ObjectInfo, seen: Seen | None) -> bool:
    """Never seen, or changed since (another ETag or size): a changed object counts as a new file."""
    return seen is None or (seen.etag, seen.size) != (version_of(obj), obj.size)


def snapshot_key(data_source_id: int, obj: ObjectInfo) -> str:
    """Where one version of a watched object is copied to become a stored item: under the data source, named
    after the version, so racing runs write the same key (and one stored item) and a later change a new one."""
    token = hashlib.sha256(f"{obj.key}\x00{version_of(obj)}\x00{obj.size}".encode()).hexdigest()[:24]
    return object_key_for(data_source_id, f"{SNAPSHOT_FOLDER}/{token}/{obj.key.rsplit('/', 1)[-1]}")


class SensorRun(msgspec.Struct, frozen=True, kw_only=True):
    """What one run of a sensor did: objects listed under the prefix, new (or changed) ones matching the
    pattern, the stored items they became (a racing run may have taken some), and new ones skipped (empty, or
    gone before they could be read)."""

    data_source_id: int
    job_name: str
    listed: int = 0
    new: int = 0
    stored_item_ids: list[int] = msgspec.field(default_factory=list[int])
    skipped: list[str] = msgspec.field(default_factory=list[str])


class SensorState(msgspec.Struct, frozen=True, kw_only=True):
    """The sensor row of a data source: the version of its last `job.changed`, whether Disable Sensor Cronjob
    Now switched its cron off, its last run."""

    data_source_id: int
    version: int
    cron_disabled: bool
    last_run_at: datetime | None = None

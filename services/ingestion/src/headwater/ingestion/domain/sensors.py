"""Sensors: a data source watching a prefix on a cron, of Headwater's object store or of a bucket of the user's
(003 `s3_bucket` / `gs_bucket` and their credentials). What its 003 fields say (cron, bucket, prefix, pattern),
which listed objects are new, and where a new object's snapshot is kept; no I/O."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

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


_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_GS_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]{1,40}")


class WatchedBucket(msgspec.Struct, frozen=True, kw_only=True):
    """A bucket of the user's that a sensor lists, with what the data source gives to reach it: for S3 (and
    S3-compatible servers such as MinIO) `s3_bucket`, `s3_endpoint_url`, `s3_region_name`, `s3_access_key` and
    `s3_secret_key`; for GCS (a `gs` data source) `gs_bucket` and `gs_service_account_key`. Without keys the
    requests go unsigned (a public bucket), unless the operator lets sensors use the service's own
    credentials."""

    scheme: Literal["s3", "gs"]
    bucket: str
    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    service_account_key: str | None = None

    def __repr__(self) -> str:
        return f"WatchedBucket({self.url!r}, endpoint={self.endpoint!r})"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}"

    @property
    def has_credentials(self) -> bool:
        return self.access_key_id is not None or self.service_account_key is not None

    def qualified(self, key: str) -> str:
        """A key of the bucket as the sensor records it: with the bucket's URL, so that objects of two buckets
        (or of Headwater's own store) never pass for one another."""
        return f"{self.url}/{key}"


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidSensor(f"{name}: a string")
    return value.strip() or None


def _endpoint(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise InvalidSensor(
            f"s3_endpoint_url: {value!r} is not a server's base URL (http(s)://host[:port], e.g. "
            "http://minio.internal:9000)"
        )
    return value.rstrip("/")


def _bucket(body: Mapping[str, Any]) -> WatchedBucket | None:
    if body.get("data_source_type") == "gs":
        name = _text(body, "gs_bucket")
        if name is None:
            return None
        if not _GS_BUCKET.fullmatch(name):
            raise InvalidSensor(
                f"gs_bucket: {name!r} is not a bucket name (lowercase letters, digits, . _ -)"
            )
        key = _text(body, "gs_service_account_key")
        if key is not None:
            try:
                parsed = json.loads(key)
            except ValueError:
                parsed = None
            if not (isinstance(parsed, dict) and {"client_email", "private_key"} <= parsed.keys()):
                raise InvalidSensor(
                    "gs_service_account_key: the JSON key file of a service account (with client_email and "
                    "private_key)"
                )
        return WatchedBucket(scheme="gs", bucket=name, service_account_key=key)
    name = _text(body, "s3_bucket")
    if name is None:
        return None
    if not _S3_BUCKET.fullmatch(name):
        raise InvalidSensor(f"s3_bucket: {name!r} is not a bucket name (3-63 lowercase letters, digits, . -)")
    access_key, secret_key = _text(body, "s3_access_key"), _text(body, "s3_secret_key")
    if (access_key is None) != (secret_key is None):
        raise InvalidSensor("s3_access_key and s3_secret_key: give both, or neither (a public bucket)")
    region = _text(body, "s3_region_name")
    if region is not None and not _REGION.fullmatch(region):
        raise InvalidSensor(f"s3_region_name: {region!r} is not a region name (e.g. eu-west-1)")
    return WatchedBucket(
        scheme="s3",
        bucket=name,
        endpoint=_endpoint(_text(body, "s3_endpoint_url")),
        region=region,
        access_key_id=access_key,
        secret_access_key=secret_key,
    )


def _prefix(body: Mapping[str, Any]) -> str | None:
    kind = body.get("data_source_type")
    fields = ("gs_prefix", "s3_prefix") if kind == "gs" else ("s3_prefix", "gs_prefix")
    for name in fields:
        value = body.get(name)
        if isinstance(value, str) and value.strip().strip("/"):
            return value.strip().strip("/") + "/"
    return None


class SensorSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A data source's sensor as its fields set it: `cron` (003 `schedule`), the watched `bucket` (None:
    Headwater's own object store), the watched `prefix` (`s3_prefix`, or `gs_prefix` for a `gs` data source;
    a bucket of the user's is watched whole when it is empty: ""), and `pattern`, a regular expression a file
    name (the key's last segment) must match in full to be picked up."""

    cron: str | None
    prefix: str | None
    pattern: str | None
    bucket: WatchedBucket | None = None

    def recorded_key(self, key: str) -> str:
        """How a listed key is recorded among the objects seen (qualified by the bucket of the user's)."""
        return key if self.bucket is None else self.bucket.qualified(key)

    @property
    def recorded_prefix(self) -> str:
        return self.recorded_key(self.prefix or "")

    def matches(self, key: str) -> bool:
        if self.pattern is None:
            return True
        return re.fullmatch(self.pattern, key.rsplit("/", 1)[-1]) is not None


def sensor_settings(body: Mapping[str, Any], *, saving: bool = False) -> SensorSettings:
    """The sensor of a data source's body; InvalidSensor naming the field when one cannot work.

    `saving`: the bucket fields of a data source without a schedule are not held against its save (they may be
    filled in over several saves; Run Sensor Job Now checks them, as does a save that sets a schedule)."""
    cron = parse_cron(body.get("schedule"))
    prefix = _prefix(body)
    try:
        bucket = _bucket(body)
    except InvalidSensor:
        if not saving or cron is not None:
            raise
        return SensorSettings(cron=None, prefix=prefix, pattern=None)
    if bucket is not None:
        prefix = prefix or ""
    elif prefix is not None and prefix.startswith(STORED_ITEMS_ROOT):
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
    return SensorSettings(cron=cron, prefix=prefix, pattern=pattern or None, bucket=bucket)


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


def snapshot_key(data_source_id: int, obj: ObjectInfo, recorded_key: str | None = None) -> str:
    """Where one version of a watched object is copied to become a stored item: under the data source, named
    after the version (and the key as recorded, with its bucket), so racing runs write the same key (and one
    stored item) and a later change a new one."""
    key = recorded_key or obj.key
    token = hashlib.sha256(f"{key}\x00{version_of(obj)}\x00{obj.size}".encode()).hexdigest()[:24]
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

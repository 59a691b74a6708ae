"""A data source's sensor as its 003 fields set it: the cron, the watched prefix, the pattern; which objects are
new; where a new object's snapshot goes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.ingestion.domain.objects import ObjectInfo
from headwater.ingestion.domain.sensors import InvalidSensor, Seen, is_new, sensor_settings, snapshot_key

AT = datetime(2026, 12, 1, tzinfo=UTC)


def test_fields_make_the_sensor() -> None:
    s = sensor_settings(
        {"schedule": " */5  * * * * ", "s3_prefix": "/landing/orders/", "pattern": r".*\.csv"}
    )
    assert (s.cron, s.prefix) == ("*/5 * * * *", "landing/orders/")
    assert s.matches("landing/orders/2026/a.csv")
    assert not s.matches("landing/orders/a.csv.bak")
    gs = sensor_settings({"data_source_type": "gs", "gs_prefix": "in", "s3_prefix": "other"})
    assert (gs.cron, gs.prefix, gs.pattern) == (None, "in/", None)
    assert gs.matches("in/anything")
    assert sensor_settings({"schedule": "off", "s3_prefix": "  "}) == sensor_settings({})


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"schedule": "every day"}, "schedule"),
        ({"schedule": "61 * * * *"}, "schedule"),
        ({"schedule": "0 0 31 2 *"}, "never due"),
        ({"pattern": "(unclosed"}, "pattern"),
        ({"pattern": 5}, "pattern"),
        ({"s3_prefix": "data-sources/3"}, "stored items"),
    ],
)
def test_fields_that_cannot_work_say_which(fields: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidSensor, match=says):
        sensor_settings(fields)


def test_an_object_is_new_until_seen_and_again_when_changed() -> None:
    obj = ObjectInfo(key="in/a.csv", size=10, last_modified=AT, etag="e1")
    assert is_new(obj, None)
    assert not is_new(obj, Seen(key="in/a.csv", etag="e1", size=10))
    assert is_new(obj, Seen(key="in/a.csv", etag="e0", size=10))
    assert is_new(obj, Seen(key="in/a.csv", etag="e1", size=9))
    no_etag = ObjectInfo(key="in/a.csv", size=10, last_modified=AT)
    assert not is_new(no_etag, Seen(key="in/a.csv", etag=AT.isoformat(), size=10))


def test_a_snapshot_key_is_the_same_for_one_version_and_new_for_the_next() -> None:
    obj = ObjectInfo(key="in/a.csv", size=10, last_modified=AT, etag="e1")
    key = snapshot_key(7, obj)
    assert key.startswith("data-sources/7/sensor/")
    assert key.endswith("/a.csv")
    assert snapshot_key(7, obj) == key
    assert snapshot_key(7, ObjectInfo(key="in/a.csv", size=11, last_modified=AT, etag="e2")) != key

"""A data source's sensor as its 003 fields set it: the cron, the watched prefix, the pattern; which objects are
new; where a new object's snapshot goes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from headwater.ingestion.adapters.storage import BucketRefused, BucketStores
from headwater.ingestion.domain.objects import ObjectInfo
from headwater.ingestion.domain.sensors import (
    InvalidSensor,
    Seen,
    WatchedBucket,
    is_new,
    sensor_settings,
    snapshot_key,
)

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
        ({"s3_bucket": "Not_A_Bucket"}, "s3_bucket"),
        ({"s3_bucket": "b1b", "s3_access_key": "AKIA"}, "give both"),
        ({"s3_bucket": "b1b", "s3_endpoint_url": "minio:9000"}, "s3_endpoint_url"),
        ({"s3_bucket": "b1b", "s3_endpoint_url": "http://m:9000/?x=1"}, "s3_endpoint_url"),
        ({"s3_bucket": "b1b", "s3_region_name": "EU West"}, "s3_region_name"),
        ({"s3_bucket": 5}, "s3_bucket"),
        ({"data_source_type": "gs", "gs_bucket": "b1b", "gs_service_account_key": "{}"}, "service account"),
        ({"data_source_type": "gs", "gs_bucket": "-b"}, "gs_bucket"),
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


def test_a_bucket_of_the_users_is_watched_with_its_own_fields() -> None:
    s = sensor_settings(
        {
            "data_source_type": "minio",
            "s3_bucket": " landing-zone ",
            "s3_endpoint_url": "http://minio.internal:9000/",
            "s3_region_name": "eu-west-1",
            "s3_access_key": "AKIA",
            "s3_secret_key": "secret",
        }
    )
    assert s.bucket == WatchedBucket(
        scheme="s3",
        bucket="landing-zone",
        endpoint="http://minio.internal:9000",
        region="eu-west-1",
        access_key_id="AKIA",
        secret_access_key="secret",
    )
    assert "secret" not in repr(s.bucket)
    # the whole bucket when no prefix is given; its keys are recorded with the bucket
    assert s.prefix == ""
    assert s.recorded_key("in/a.csv") == "s3://landing-zone/in/a.csv"
    assert s.recorded_prefix == "s3://landing-zone/"
    # Headwater's own area is only reserved in Headwater's own store
    assert sensor_settings({"s3_bucket": "theirs", "s3_prefix": "data-sources/x"}).prefix == "data-sources/x/"
    gs = sensor_settings(
        {
            "data_source_type": "gs",
            "gs_bucket": "g_bucket",
            "gs_prefix": "in",
            "gs_service_account_key": '{"client_email": "a@b", "private_key": "k"}',
        }
    )
    assert gs.bucket is not None
    assert (gs.bucket.scheme, gs.bucket.has_credentials, gs.recorded_prefix) == (
        "gs",
        True,
        "gs://g_bucket/in/",
    )
    assert sensor_settings({"s3_prefix": "in"}).recorded_key("in/a.csv") == "in/a.csv"


def test_bucket_stores_follow_the_operators_rules() -> None:
    keyless = WatchedBucket(scheme="s3", bucket="public-data", region="us-east-1")
    assert BucketStores().store_of(keyless).config.anonymous is True
    assert BucketStores(own_credentials=True).store_of(keyless).config.anonymous is False
    minio = WatchedBucket(
        scheme="s3",
        bucket="b1b",
        endpoint="http://MinIO.internal:9000",
        access_key_id="a",
        secret_access_key="s",
    )
    with pytest.raises(BucketRefused, match="HEADWATER_INGESTION_SENSOR_S3_ENDPOINTS"):
        BucketStores().store_of(minio)
    config = BucketStores(allowed_endpoints=["http://minio.internal:9000/", " "]).store_of(minio).config
    assert (config.endpoint, config.allow_http, config.anonymous) == (
        "http://MinIO.internal:9000",
        True,
        False,
    )


def test_a_snapshot_key_of_a_users_bucket_differs_from_the_own_stores() -> None:
    obj = ObjectInfo(key="in/a.csv", size=10, last_modified=AT, etag="e1")
    assert snapshot_key(7, obj, "s3://b1b/in/a.csv") != snapshot_key(7, obj)


def test_a_save_without_a_schedule_keeps_unfinished_bucket_fields() -> None:
    unfinished = {"s3_bucket": "landing", "s3_secret_key": "secret"}  # its access key comes in a later save
    assert sensor_settings(unfinished, saving=True).bucket is None
    with pytest.raises(InvalidSensor, match="give both"):
        sensor_settings(unfinished)  # what a run of its sensor says
    with pytest.raises(InvalidSensor, match="give both"):
        sensor_settings(unfinished | {"schedule": "0 * * * *"}, saving=True)

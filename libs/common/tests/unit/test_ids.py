"""UUIDv7 ids are version 7, RFC variant, and ordered by creation time."""

import time

from headwater.common.ids import uuid7


def test_version_and_variant() -> None:
    u = uuid7()
    assert u.version == 7
    assert u.variant == "specified in RFC 4122"


def test_time_ordered_and_unique() -> None:
    first = uuid7()
    time.sleep(0.002)
    ids = [uuid7() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(first < u for u in ids)
    assert abs((first.int >> 80) - time.time_ns() // 1_000_000) < 5000

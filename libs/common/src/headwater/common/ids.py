"""UUIDv7 identifiers: time-ordered, so event ids sort by creation and index well."""

from __future__ import annotations

import random
import time
import uuid


def uuid7() -> uuid.UUID:
    """A RFC 9562 version 7 UUID: 48 bits of Unix milliseconds, then random bits.

    The random bits make ids unique, not secret, so the fast non-cryptographic generator is enough.
    """
    ms = time.time_ns() // 1_000_000
    rand = random.getrandbits(80)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)

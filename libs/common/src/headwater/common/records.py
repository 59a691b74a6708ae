"""Records built from records: a msgspec Struct takes the fields it shares by name with another record (a row,
an event, a contract), so that a conversion names only what differs."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


def project(record_type: type[S], source: object, /, **given: Any) -> S:
    """A `record_type` of `given` and, for each of its other fields that `source` has, `source`'s attribute of
    the same name; the fields `source` lacks keep their defaults."""
    shared = {
        name: getattr(source, name)
        for name in record_type.__struct_fields__
        if name not in given and hasattr(source, name)
    }
    return record_type(**shared, **given)

"""Steps the get-or-create and PATCH use cases of pipeline types, pipelines, address types and addresses share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from headwater.common.errors import Conflict, Duplicate, Invalid, MissingReference, NotFound


class Named(Protocol):
    """A repository of rows unique by name."""

    async def insert_if_absent(self, values: Mapping[str, Any]) -> int | None: ...

    async def id_by_name(self, name: str) -> int | None: ...


async def insert_or_find(rows: Named, fields: Mapping[str, Any]) -> tuple[int, bool]:
    """Get-or-create by `fields["name"]` inside the caller's transaction: (id, created). An existing row is
    returned unchanged."""
    created = await rows.insert_if_absent(fields)
    if created is not None:
        return created, True
    existing = await rows.id_by_name(fields["name"])
    assert existing is not None  # the insert found it
    return existing, False


def identify(record_id: int | None, fields: dict[str, Any], what: str) -> tuple[int | None, str | None]:
    """Which row a PATCH means: the `id` sent or, without one, the `name` sent (then not a field to set)."""
    if record_id is not None:
        return record_id, None
    name = fields.pop("name", None)
    if name is None:
        raise Invalid(f"send the {what}'s `id` or `name`")
    return None, name


def not_found(what: str, record_id: int | None, name: str | None) -> NotFound:
    return NotFound(f"{what} {record_id if record_id is not None else name!r} not found")


@contextmanager
def refused_as(duplicate: str, missing: str | None = None) -> Iterator[None]:
    """A write refused as a `Duplicate` becomes `Conflict(duplicate)`; as a `MissingReference`, `NotFound(missing)`
    when `missing` is given."""
    try:
        yield
    except Duplicate as exc:
        raise Conflict(duplicate) from exc
    except MissingReference as exc:
        if missing is None:
            raise
        raise NotFound(missing) from exc

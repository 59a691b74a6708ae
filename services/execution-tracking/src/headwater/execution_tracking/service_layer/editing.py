"""Steps the upsert, read and PATCH use cases of pipeline types, pipelines, address types and addresses share.

`rows` picks the repository from the unit of work once it is open (`lambda u: u.pipeline_types`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from headwater.common.errors import Conflict, Duplicate, Invalid, MissingReference, NotFound
from headwater.execution_tracking.service_layer.ports import NamedRows
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

R = TypeVar("R")


class Identified(Protocol):
    @property
    def id(self) -> int: ...


RowT = TypeVar("RowT", bound=Identified)


async def upsert_by_name(
    uow: UnitOfWork, rows: Callable[[UnitOfWork], NamedRows[Any]], fields: dict[str, Any]
) -> tuple[int, bool]:
    """Get-or-create by `fields["name"]`: (id, created). An existing row is returned unchanged."""
    async with uow:
        created = await rows(uow).insert_if_absent(fields)
        if created is not None:
            await uow.commit()
            return created, True
        existing = await rows(uow).id_by_name(fields["name"])
        assert existing is not None  # the insert found it
        return existing, False


async def get_by_id(uow: UnitOfWork, rows: Callable[[UnitOfWork], NamedRows[R]], row_id: int, what: str) -> R:
    """The row with this id; `NotFound` naming `what` when there is none."""
    async with uow:
        row = await rows(uow).get(row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row


async def list_page(
    uow: UnitOfWork, rows: Callable[[UnitOfWork], NamedRows[R]], *, limit: int, offset: int
) -> Sequence[R]:
    """At most `limit` rows in id order, after the first `offset`."""
    async with uow:
        return await rows(uow).list(limit, offset)


async def patch_row(
    uow: UnitOfWork,
    rows: Callable[[UnitOfWork], NamedRows[RowT]],
    target: tuple[int | None, str | None],
    fields: dict[str, Any],
    *,
    what: str,
    duplicate: str,
    missing: str | None = None,
    changed: Callable[[UnitOfWork, RowT], Awaitable[None]] | None = None,
    even_unchanged: bool = False,
) -> RowT:
    """A PATCH: set `fields` on the row `target` names (its id, or its name without one), locked; `NotFound`
    naming `what` when there is none, and `refused_as(duplicate, missing)` on the write. `changed(uow, row)`
    publishes what the change means. Without a field to set nothing is written, unless `even_unchanged`."""
    row_id, name = target
    async with uow:
        row = await rows(uow).locked(row_id, name)
        if row is None:
            raise not_found(what, row_id, name)
        if not fields and not even_unchanged:
            return row
        if fields:
            with refused_as(duplicate, missing):
                row = await rows(uow).update(row.id, fields)
        if changed is not None:
            await changed(uow, row)
        await uow.commit()
        return row


def patch_fields(
    body: dict[str, Any], clean: Callable[[dict[str, Any]], dict[str, Any]], what: str
) -> tuple[tuple[int | None, str | None], dict[str, Any]]:
    """A PATCH body as `patch_row` takes it: the row it means (its `id` or, without one, its `name`, then not a
    field to set) and the fields to set, `clean`ed; `Invalid` when it names no row."""
    row_id = body.pop("id", None)
    fields = clean(body)
    if row_id is not None:
        return (row_id, None), fields
    name = fields.pop("name", None)
    if name is None:
        raise Invalid(f"send the {what}'s `id` or `name`")
    return (None, name), fields


def not_found(what: str, record_id: int | None, name: str | None) -> NotFound:
    return NotFound(f"{what} {record_id if record_id is not None else name!r} not found")


@contextmanager
def refused_as(duplicate: str, missing: str | None = None) -> Generator[None]:
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

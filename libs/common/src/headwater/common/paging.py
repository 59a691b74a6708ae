"""Qluster's cursor pagination, shared by every listing that walks ids (alerts, errors, datasets, files, jobs...).

A listing takes one `Cursor` (the query's `start` / `end` / `limit` / `reverse`, read and checked once by the
Litestar dependency `headwater.common.http.cursor_query`) and answers one `CursorPage`, whose `next` and
`previous` are the queries of its neighbours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec

MAX_LIMIT = 1000


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)

# Walks the ids of the listing's rows up (`ascending`) or down from an id inclusive (from the oldest or the
# newest without one): up to `limit` rows in walk order.
Walk = Callable[[int | None, bool, int], Awaitable[list[R]]]


class Cursor(msgspec.Struct, frozen=True, kw_only=True):
    """Where a page begins: walking up from `start`, down from `end`, or (neither) at the newest when `reverse`
    or the oldest otherwise; at most `limit` rows, newest first when `reverse`."""

    start: int | None = None
    end: int | None = None
    limit: int = 20
    reverse: bool = True


FIRST_PAGE = Cursor()  # the newest rows, 20 of them


@dataclass(frozen=True)
class CursorPage(Generic[R]):
    """One page: `next` and `previous` are the query parameters of the neighbouring pages, or null at either
    end."""

    results: list[R]
    next: dict[str, Any] | None
    previous: dict[str, Any] | None


async def cursor_page(walk: Walk[R], cursor: Cursor) -> CursorPage[R]:
    """One page of what `walk` reads, where `cursor` says. Call it inside the unit of work `walk` reads from."""
    start, end, limit, reverse = cursor.start, cursor.end, cursor.limit, cursor.reverse
    ascending = start is not None or (end is None and not reverse)
    rows = await walk(start if start is not None else end, ascending, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    before: list[R] = []
    if rows:  # is there anything on the other side of where this page began?
        edge = rows[0].id
        before = await walk(edge - 1 if ascending else edge + 1, not ascending, 1)
    ids = [r.id for r in rows]
    # In display order, "next" continues away from the newest when reverse, towards it otherwise.
    results = sorted(rows, key=lambda r: r.id, reverse=reverse)
    higher = (more if ascending else bool(before)) and ids
    lower = (bool(before) if ascending else more) and ids
    up = {"start": max(ids) + 1, "limit": limit, "reverse": reverse} if higher else None
    down = {"end": min(ids) - 1, "limit": limit, "reverse": reverse} if lower else None
    return CursorPage(results=results, next=down if reverse else up, previous=up if reverse else down)

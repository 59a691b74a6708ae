"""Qluster's cursor pagination, shared by every listing that walks ids (alerts, fatal errors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)

# Walks the ids of the listing's rows up (`ascending`) or down from an id inclusive (from the oldest or the
# newest without one): up to `limit` rows in walk order.
Walk = Callable[[int | None, bool, int], Awaitable[list[R]]]


@dataclass(frozen=True)
class CursorPage(Generic[R]):
    """One page: `next` and `previous` are the query parameters of the neighbouring pages, or null at either
    end."""

    results: list[R]
    next: dict[str, Any] | None
    previous: dict[str, Any] | None


async def cursor_page(
    walk: Walk[R], *, start: int | None, end: int | None, limit: int, reverse: bool
) -> CursorPage[R]:
    """One page: `start` walks up from an id, `end` down to one, neither begins at the newest (`reverse`) or
    the oldest; results come newest first when `reverse`. Call it inside the unit of work `walk` reads from."""
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

"""Qluster's cursor pagination over an in-memory listing of ids 1..9."""

from __future__ import annotations

from dataclasses import dataclass

from headwater.common.paging import Cursor, cursor_page


@dataclass(frozen=True)
class Row:
    id: int


ROWS = [Row(i) for i in range(1, 10)]


async def walk(from_id: int | None, ascending: bool, limit: int) -> list[Row]:
    if ascending:
        rows = [r for r in ROWS if from_id is None or r.id >= from_id]
    else:
        rows = [r for r in reversed(ROWS) if from_id is None or r.id <= from_id]
    return rows[:limit]


async def test_a_first_page_newest_first_points_down_only() -> None:
    page = await cursor_page(walk, Cursor(limit=2))
    assert [r.id for r in page.results] == [9, 8]
    assert (page.next, page.previous) == ({"end": 7, "limit": 2, "reverse": True}, None)


async def test_a_page_walked_up_points_both_ways() -> None:
    page = await cursor_page(walk, Cursor(start=3, limit=2, reverse=False))
    assert [r.id for r in page.results] == [3, 4]
    assert page.next == {"start": 5, "limit": 2, "reverse": False}
    assert page.previous == {"end": 2, "limit": 2, "reverse": False}


async def test_following_next_walks_every_row_once() -> None:
    seen: list[int] = []
    cursor: Cursor | None = Cursor(limit=4)
    while cursor is not None:
        page = await cursor_page(walk, cursor)
        seen += [r.id for r in page.results]
        cursor = Cursor(**page.next) if page.next else None
    assert seen == list(range(9, 0, -1))


async def test_an_empty_page_points_nowhere() -> None:
    page = await cursor_page(walk, Cursor(start=20))
    assert (page.results, page.next, page.previous) == ([], None, None)

"""Alerts on the real Postgres: raised once per occurrence, Qluster's cursor pagination, resolve and mute."""

from __future__ import annotations

import random
from typing import Any

import pytest

from headwater.common.paging import Cursor
from headwater.quality_alerting.bootstrap import Container
from headwater.quality_alerting.domain.alerts import AlertFilter
from headwater.quality_alerting.service_layer import alerts
from headwater.quality_alerting.testing import alert_draft

pytestmark = pytest.mark.integration


async def raise_five(container: Container) -> tuple[int, list[int]]:
    pipeline = random.randint(10**9, 2**60)
    drafts = [alert_draft(pipeline, n) for n in range(5)]
    async with container.uow_factory() as uow:
        rows = await alerts.raise_alerts(uow, drafts)
        again = await alerts.raise_alerts(uow, drafts)  # the same occurrences raise nothing new
        await uow.commit()
    assert again == []
    return pipeline, sorted(r.id for r in rows)


async def page(container: Container, pipeline: int, **cursor: Any) -> alerts.AlertPage:
    filters = AlertFilter(resolved=False, is_muted=False, pipeline_id=pipeline)
    return await alerts.list_alerts(container.uow_factory(), filters=filters, cursor=Cursor(**cursor))


def ids(result: alerts.AlertPage) -> list[int]:
    return [r.id for r in result.results]


async def test_cursor_pagination_as_qluster_documents_it(container: Container) -> None:
    pipeline, a = await raise_five(container)

    newest = await page(container, pipeline, limit=2)
    assert ids(newest) == [a[4], a[3]]  # reverse by default: newest first
    assert newest.previous is None
    assert newest.next == {"end": a[3] - 1, "limit": 2, "reverse": True}
    following = await page(container, pipeline, **newest.next)  # type: ignore[arg-type]
    assert ids(following) == [a[2], a[1]]
    assert following.previous == {"start": a[2] + 1, "limit": 2, "reverse": True}
    last = await page(container, pipeline, end=a[1] - 1, limit=2)
    assert (ids(last), last.next) == ([a[0]], None)

    assert ids(await page(container, pipeline, end=a[3], limit=3)) == [a[3], a[2], a[1]]  # "end in 14": 12-14
    assert ids(await page(container, pipeline, start=a[1], limit=3)) == [
        a[3],
        a[2],
        a[1],
    ]  # "start from 2": 2-4
    oldest = await page(container, pipeline, limit=3, reverse=False)
    assert ids(oldest) == [a[0], a[1], a[2]]
    assert oldest.next == {"start": a[2] + 1, "limit": 3, "reverse": False}
    assert oldest.previous is None


async def test_resolve_and_mute_move_alerts_out_of_the_default_list(container: Container) -> None:
    pipeline, a = await raise_five(container)
    resolved = await alerts.resolve_alert(container.uow_factory(), a[0], "mark_data_as_valid")
    assert (resolved.resolved, resolved.resolve_action) == (True, "mark_data_as_valid")
    again = await alerts.resolve_alert(
        container.uow_factory(), a[0], "hide"
    )  # a second resolve changes nothing
    assert (again.resolve_action, again.resolved_at) == ("mark_data_as_valid", resolved.resolved_at)
    await alerts.mute_alert(container.uow_factory(), a[1], True)

    assert ids(await page(container, pipeline, limit=10)) == [a[4], a[3], a[2]]
    filters = AlertFilter(resolved=True, is_muted=False, pipeline_id=pipeline)
    assert ids(await alerts.list_alerts(container.uow_factory(), filters=filters)) == [a[0]]
    filters = AlertFilter(resolved=False, is_muted=True, pipeline_id=pipeline)
    assert ids(await alerts.list_alerts(container.uow_factory(), filters=filters)) == [a[1]]

"""Ingestion alerts in memory: which are muted, which notify, and how the events' text is made storable."""

from __future__ import annotations

from headwater.common.events import RowsQuarantined
from headwater.quality_alerting.service_layer.ingestion import alert_on_ingestion, quarantine_alerts
from headwater.quality_alerting.testing import FakeUnitOfWork


def quarantined(item: int, *, blocking: bool, **counts: int) -> RowsQuarantined:
    return RowsQuarantined(
        dataset_id=1, data_source_id=2, stored_item_id=item, counts=counts, blocking=blocking
    )


async def test_only_visible_alerts_are_offered_to_the_notification_channels() -> None:
    uow = FakeUnitOfWork()
    await alert_on_ingestion(
        uow,
        [quarantined(10, blocking=False, type_mismatch=3), quarantined(11, blocking=True, type_mismatch=1)],
    )
    by_item = {a.stored_item_id: a for a in uow.alerts.alerts.values()}
    assert (by_item[10].is_muted, by_item[11].is_muted) == (True, False)
    assert uow.deliveries.offered == [by_item[11].id]
    assert {e.alert_id for e in uow.committed_events} == {by_item[10].id, by_item[11].id}  # type: ignore[attr-defined]


async def test_alert_types_counts_and_reasons_are_bounded_for_storage() -> None:
    event = RowsQuarantined(
        dataset_id=1,
        data_source_id=2,
        stored_item_id=3,
        counts={"x" * 60: 2**40, "": 1},
        sample_reasons=[f"reason {n} \x00" + "y" * 600 for n in range(20)],
    )
    drafts = {d.alert_type: d for d in quarantine_alerts(event)}
    assert set(drafts) == {"x" * 40, "rows_quarantined"}  # a type fits its column; a blank one is named
    assert drafts["x" * 40].count == 2**31 - 1
    reasons = drafts["x" * 40].body["sample_reasons"]
    assert len(reasons) == 10
    assert all(len(r) == 500 and "\x00" not in r for r in reasons)


async def test_a_quarantine_that_counted_nothing_still_raises_its_alert() -> None:
    (draft,) = quarantine_alerts(quarantined(4, blocking=True))
    assert (draft.alert_type, draft.count, draft.is_muted, draft.blocks_stored_item) == (
        "rows_quarantined",
        0,
        False,
        True,
    )


async def test_an_event_twice_in_one_batch_counts_once() -> None:
    uow = FakeUnitOfWork()
    event = quarantined(12, blocking=True, type_mismatch=1)
    outcome = await alert_on_ingestion(uow, [event, event])
    assert outcome.alerts_raised == 1
    assert len(uow.committed_events) == 1

"""Use cases of Qluster's data (spec 003): a dataset's rows and bad rows (Get Data), ignoring line signatures,
reprocessing bad rows, the menu's counts, and the service's queue messages (its outbox and outbox quarantine).

A `limited_to_source` caller reads the data of one of its data sources at a time (003: never the combined
data), ignores and reprocesses only its data sources' rows, and sees only the messages about them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from prometheus_client import Counter

from headwater.common.errors import Invalid, NotFound
from headwater.common.logging import get_logger
from headwater.common.paging import FIRST_PAGE, Cursor
from headwater.common.principal import SYSTEM, Principal
from headwater.ingestion.domain.errors import InvalidQuery
from headwater.ingestion.domain.metadata import Filter, Page, Stored
from headwater.ingestion.domain.queue import QueueFilter, QueueMessage, Rescheduled
from headwater.ingestion.domain.records import DataPage, OfDataSource
from headwater.ingestion.domain.validation import FieldRule
from headwater.ingestion.service_layer.metadata import (
    DATA_SOURCE_STATES,
    DATASET_STATES,
    Forbidden,
    cursor_page,
)
from headwater.ingestion.service_layer.ports import Warehouse, Warehouses
from headwater.ingestion.service_layer.reprocess import ReprocessReport, reprocess_bad_rows
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork
from headwater.ingestion.service_layer.warehouses import parse_settings_of, rules_of, target_for

log = get_logger(__name__)

SIGNATURES_IGNORED = Counter(
    "headwater_ingestion_signatures_ignored_total", "Line signatures newly ignored (Ignore Line Signature)"
)
BAD_ROWS_DROPPED = Counter(
    "headwater_ingestion_bad_rows_dropped_total",
    "Quarantined rows dropped because their signature is ignored",
)
BAD_ROWS_REPROCESSED = Counter(
    "headwater_ingestion_bad_rows_reprocessed_total",
    "Quarantined rows checked again, by outcome",
    ["outcome"],
)
MESSAGES_RESCHEDULED = Counter(
    "headwater_ingestion_queue_messages_rescheduled_total",
    "Queue messages put back to be sent, by where they were",
    ["was"],  # quarantined, sent
)

WALK_PAGE = 1000


@dataclass(frozen=True)
class Dataset:
    """A dataset with what its rows need: where they are and its fields' rules."""

    row: Stored
    warehouse: Warehouse
    table: str
    rules: list[FieldRule]


def _writer(principal: Principal) -> str:
    return principal.username or principal.subject


async def _dataset(
    uow: UnitOfWork, warehouses: Warehouses, default_dsn: str, dataset_id: int, principal: Principal
) -> Dataset:
    async with uow:
        row = await uow.datasets.get(dataset_id, principal.visible_data_sources)
        if row is None or row.state == "deleted":
            raise NotFound(f"dataset {dataset_id} not found")
        destination = await uow.destinations.get(row.parent_id) if row.parent_id is not None else None
        validations = await uow.field_validations.of_dataset(dataset_id)
    target = target_for(row, destination, default_dsn)
    warehouse = await warehouses.warehouse(target.dsn, target.schema)
    return Dataset(row=row, warehouse=warehouse, table=target.table, rules=rules_of(validations))


async def _data_sources_of(uow: UnitOfWork, dataset_id: int, principal: Principal) -> list[Stored]:
    """Every data source of the dataset the caller may see, whatever its state (its rows stay)."""
    matching = Filter(parent_id=dataset_id, data_sources=principal.visible_data_sources)
    found: list[Stored] = []
    async with uow:
        while True:
            after = found[-1].id + 1 if found else None
            rows = await uow.data_sources.walk(matching, from_id=after, ascending=True, limit=WALK_PAGE)
            found += rows
            if len(rows) < WALK_PAGE:
                return found


def _check_source(source_id: int, sources: dict[int, Stored], dataset_id: int, principal: Principal) -> None:
    if source_id in sources:
        return
    if principal.limited_to_sources:
        raise Forbidden(f"data source {source_id} is not one of yours")
    raise Invalid(f"data source {source_id} does not feed dataset {dataset_id}")


# -- rows ---------------------------------------------------------------------------------------------------------


async def get_data(
    uow: UnitOfWork,
    warehouses: Warehouses,
    default_dsn: str,
    dataset_id: int,
    *,
    page: int = 1,
    limit: int = 20,
    data_source_id: int | None = None,
    stored_item_id: int | None = None,
    is_bad_data: bool = False,
    order_by: Sequence[str] = ("~id",),
    principal: Principal = SYSTEM,
) -> tuple[Stored, DataPage]:
    """Get Data: a page of the dataset's loaded rows, or (`is_bad_data`) of its quarantined rows with their
    `_signature`, failing field, reason and alert type."""
    if principal.limited_to_sources and data_source_id is None:
        raise Forbidden(
            "limited_to_source users read the data of one of their data sources at a time: pass "
            "data_source_model_id"
        )
    dataset = await _dataset(uow, warehouses, default_dsn, dataset_id, principal)
    if data_source_id is not None:
        sources = {s.id: s for s in await _data_sources_of(uow, dataset_id, principal)}
        _check_source(data_source_id, sources, dataset_id, principal)
    try:
        data = await dataset.warehouse.read_page(
            dataset.table,
            dataset.rules,
            page=page,
            limit=limit,
            data_source_id=data_source_id,
            stored_item_id=stored_item_id,
            is_bad_data=is_bad_data,
            order_by=order_by,
        )
    except InvalidQuery as e:
        raise Invalid(str(e)) from e
    return dataset.row, data


async def ignore_line_signatures(
    uow: UnitOfWork,
    warehouses: Warehouses,
    default_dsn: str,
    dataset_id: int,
    pairs: Sequence[tuple[int, str]],
    principal: Principal = SYSTEM,
) -> tuple[int, int]:
    """Ignore Line Signature For Dataset View: each (data source, signature) is recorded (again: no change),
    so future files of the data source drop the line, and its quarantined rows with it are dropped now.
    Returns (signatures newly recorded, bad rows dropped)."""
    dataset = await _dataset(uow, warehouses, default_dsn, dataset_id, principal)
    sources = {s.id: s for s in await _data_sources_of(uow, dataset_id, principal)}
    for source_id, _ in pairs:
        _check_source(source_id, sources, dataset_id, principal)
    async with uow:
        added = await uow.ignored_signatures.add(dataset_id, pairs, _writer(principal))
        await uow.commit()
    by_source: dict[int, list[str]] = {}
    for source_id, signature in pairs:
        by_source.setdefault(source_id, []).append(signature)
    dropped = 0
    for source_id, signatures in by_source.items():
        dropped += await dataset.warehouse.delete_bad_rows_with_signatures(
            dataset.table, source_id, signatures
        )
    SIGNATURES_IGNORED.inc(added)
    BAD_ROWS_DROPPED.inc(dropped)
    log.info("line_signatures_ignored", dataset_id=dataset_id, added=added, bad_rows_dropped=dropped)
    return added, dropped


async def reprocess(
    uow: UnitOfWork,
    warehouses: Warehouses,
    default_dsn: str,
    dataset_id: int,
    ids: Sequence[int],
    principal: Principal = SYSTEM,
) -> ReprocessReport:
    """Reprocess Bad Rows For Dataset View: the dataset's quarantined rows (those of `ids`; every one when
    `ids` is empty) are checked against today's validation info, each data source's rows with its own parse
    settings, and the good ones move into the table."""
    dataset = await _dataset(uow, warehouses, default_dsn, dataset_id, principal)
    if not dataset.rules:
        raise Invalid(
            f"dataset {dataset_id} has no validation info: there is nothing to check its rows against"
        )
    passes: list[tuple[OfDataSource, Stored | None]] = [
        (OfDataSource(s.id), s) for s in await _data_sources_of(uow, dataset_id, principal)
    ]
    if not principal.limited_to_sources:
        passes.append((OfDataSource(None), None))  # rows of files that came with no data source
    chosen = list(ids) or None
    checked = moved = still_bad = 0
    for source, data_source in passes:
        report = await reprocess_bad_rows(
            dataset.warehouse,
            table=dataset.table,
            rules=dataset.rules,
            settings=parse_settings_of(data_source),
            ids=chosen,
            source=source,
        )
        checked, moved, still_bad = (
            checked + report.checked,
            moved + report.moved,
            still_bad + report.still_bad,
        )
    BAD_ROWS_REPROCESSED.labels("moved").inc(moved)
    BAD_ROWS_REPROCESSED.labels("still_bad").inc(still_bad)
    return ReprocessReport(checked, moved, still_bad)


# -- menu ---------------------------------------------------------------------------------------------------------


class MenuCounts(msgspec.Struct, frozen=True, kw_only=True):
    datasets_count: int
    data_source_models_count: int
    destinations_count: int


async def menu_counts(uow: UnitOfWork, principal: Principal = SYSTEM) -> MenuCounts:
    """What the menu counts of ingestion's records, as the listings show them by default (and scoped alike)."""
    visible = principal.visible_data_sources
    async with uow:
        return MenuCounts(
            datasets_count=await uow.datasets.count(Filter(states=DATASET_STATES, data_sources=visible)),
            data_source_models_count=await uow.data_sources.count(
                Filter(states=DATA_SOURCE_STATES, data_sources=visible)
            ),
            destinations_count=await uow.destinations.count(Filter(data_sources=visible)),
        )


# -- queue messages -----------------------------------------------------------------------------------------------


async def list_queue_messages(
    uow: UnitOfWork,
    *,
    acknowledged: bool | None = None,
    q_name: str | None = None,
    data_source_id: int | None = None,
    cursor: Cursor = FIRST_PAGE,
    principal: Principal = SYSTEM,
) -> Page:
    matching = QueueFilter(
        acknowledged=acknowledged,
        topic=q_name,
        data_source_id=data_source_id,
        data_sources=principal.visible_data_sources,
    )
    async with uow:
        return await cursor_page(uow.queue_messages.walk, matching, cursor=cursor)


async def get_queue_message(uow: UnitOfWork, message_id: int, principal: Principal = SYSTEM) -> QueueMessage:
    async with uow:
        found = await uow.queue_messages.get(message_id, principal.visible_data_sources)
    if found is None:
        raise NotFound(f"queue message {message_id} not found")
    return found


async def reschedule_queue_messages(
    uow: UnitOfWork, ids: Sequence[int], principal: Principal = SYSTEM
) -> Rescheduled:
    """Reschedule Queue Msgs: quarantined messages go back to the outbox, sent ones are sent again; all the
    ids must exist (else nothing changes)."""
    if principal.limited_to_sources:
        raise Forbidden("limited_to_source users may not reschedule the service's messages")
    if not ids:
        raise Invalid("`ids`: name at least one message")
    async with uow:
        done = await uow.queue_messages.reschedule(ids)
        known = {*done.from_quarantine, *done.sent_again, *done.already_waiting}
        if missing := sorted(set(ids) - known):
            raise NotFound(f"no queue message has the id(s) {missing}; nothing was rescheduled")
        await uow.commit()
    MESSAGES_RESCHEDULED.labels("quarantined").inc(len(done.from_quarantine))
    MESSAGES_RESCHEDULED.labels("sent").inc(len(done.sent_again))
    log.info(
        "queue_messages_rescheduled",
        from_quarantine=done.from_quarantine,
        sent_again=done.sent_again,
        already_waiting=done.already_waiting,
    )
    return done

"""Use cases of Qluster's fatal errors: report (a repeat adds to the count), list, get, delete.

Each acts for a principal: a `limited_to_source` one reaches only the errors of the data sources it is granted;
any other error is not found.
"""

from __future__ import annotations

from dataclasses import replace

from prometheus_client import Counter

from headwater.common.errors import Invalid, NotFound
from headwater.common.logging import get_logger
from headwater.common.paging import FIRST_PAGE, Cursor, CursorPage, cursor_page
from headwater.common.principal import SYSTEM, Principal
from headwater.quality_alerting.domain.fatal_errors import (
    FatalError,
    FatalErrorFilter,
    FatalErrorMatch,
    FatalErrorReport,
)
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

FATAL_ERRORS = Counter("headwater_fatal_errors_reported_total", "Fatal errors reported", ["module"])

FatalErrorPage = CursorPage[FatalError]


async def record_fatal_error(uow: UnitOfWork, report: FatalErrorReport) -> FatalError:
    """In the caller's open transaction: store the report (or count it on the error it repeats)."""
    stored = await uow.fatal_errors.report(report)
    FATAL_ERRORS.labels(report.module[:40]).inc()
    log.info(
        "fatal_error_reported",
        error_id=stored.id,
        module=stored.module,
        error=stored.error,
        count=stored.count,
        data_source_id=stored.data_source_id,
        stored_item_id=stored.stored_item_id,
    )
    return stored


async def report_fatal_error(
    uow: UnitOfWork, report: FatalErrorReport, principal: Principal = SYSTEM
) -> FatalError:
    """Create Fatal Error: a `limited_to_source` principal reports only about a data source it is granted."""
    visible = principal.visible_data_sources
    if visible is not None and report.data_source_id not in visible:
        raise Invalid("`data_source_model_id` must name a data source you have access to")
    async with uow:
        stored = await record_fatal_error(uow, report)
        await uow.commit()
    return stored


async def list_fatal_errors(
    uow: UnitOfWork,
    *,
    cursor: Cursor = FIRST_PAGE,
    filters: FatalErrorFilter,
    principal: Principal = SYSTEM,
) -> FatalErrorPage:
    """One page of fatal errors (see `cursor_page`) among those the principal may see."""
    matching = replace(filters, data_sources=principal.visible_data_sources)

    async def walk(from_id: int | None, ascending: bool, limit: int) -> list[FatalError]:
        return await uow.fatal_errors.walk(matching, from_id=from_id, ascending=ascending, limit=limit)

    async with uow:
        return await cursor_page(walk, cursor=cursor)


async def get_fatal_error(uow: UnitOfWork, error_id: int, principal: Principal = SYSTEM) -> FatalError:
    async with uow:
        row = await uow.fatal_errors.get(error_id, principal.visible_data_sources)
    if row is None:
        raise NotFound(f"Fatal error {error_id} not found")
    return row


async def delete_fatal_errors(
    uow: UnitOfWork, matching: FatalErrorMatch, principal: Principal = SYSTEM
) -> list[int]:
    """Delete Fatal Error: mark every error `matching` as deleted (they stay readable by id and listed with
    `deleted=true`); deleting them again changes nothing. An `id` that names no error is not found; other
    criteria that match nothing delete nothing."""
    if not matching.columns():
        raise Invalid("name the errors to delete: `id`, `job_name`, `job_type` or `error`")
    visible = principal.visible_data_sources
    async with uow:
        deleted = await uow.fatal_errors.delete(matching, visible)
        if (
            not deleted
            and matching.id is not None
            and await uow.fatal_errors.get(matching.id, visible) is None
        ):
            raise NotFound(f"Fatal error {matching.id} not found")
        await uow.commit()
    log.info("fatal_errors_deleted", ids=deleted)
    return deleted

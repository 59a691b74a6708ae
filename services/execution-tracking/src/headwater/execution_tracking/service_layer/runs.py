"""Use case for run reports from `ingress.runs`: the Kafka twin of start/end, idempotent by run id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from headwater.common.events import RunEnded, RunStarted
from headwater.common.messaging.inbox import claim_new
from headwater.execution_tracking.adapters.db.repositories import is_unique_violation
from headwater.execution_tracking.adapters.db.tables import inbox
from headwater.execution_tracking.domain.rules import normalise
from headwater.execution_tracking.service_layer.errors import NotFound, UseCaseError
from headwater.execution_tracking.service_layer.executions import _end, _start
from headwater.execution_tracking.service_layer.pipelines import _publish_pipeline_changes
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

CONSUMER = "execution-tracking.ingress-runs"


@dataclass(frozen=True)
class Rejected:
    """A report that cannot be recorded, and why; it goes to the dead-letter topic."""

    index: int
    reason: str


def message_id(report: RunStarted | RunEnded) -> str:
    kind = "started" if isinstance(report, RunStarted) else "ended"
    return f"{kind}:{report.run_id}"


async def record_run_reports(uow: UnitOfWork, reports: Sequence[RunStarted | RunEnded]) -> list[Rejected]:
    """Record a batch of reports in one transaction; returns the rejected ones (the rest are committed).

    A report already processed (same kind, same run id) is skipped, so re-sent reports are harmless.
    """
    rejected: list[Rejected] = []
    async with uow:
        fresh = await claim_new(uow.conn, inbox, CONSUMER, (message_id(r) for r in reports))
        for index, report in enumerate(reports):
            mid = message_id(report)
            if mid not in fresh:
                continue
            fresh.discard(mid)  # the same report twice in one batch is recorded once
            try:
                async with uow.savepoint():
                    await _record(uow, report)
            except UseCaseError as exc:
                rejected.append(Rejected(index, exc.detail))
            except IntegrityError as exc:
                if not is_unique_violation(exc):  # a concurrent duplicate is already recorded
                    rejected.append(Rejected(index, f"rejected by the database: {exc.orig}"))
        await uow.commit()
    return rejected


async def _resolve_pipeline(uow: UnitOfWork, report: RunStarted | RunEnded) -> int:
    if report.pipeline_id is not None:
        row = await uow.pipelines.get(report.pipeline_id)
        if row is None:
            raise NotFound(f"pipeline {report.pipeline_id} not found")
        return report.pipeline_id
    fields = normalise({"name": report.pipeline_name, "type": report.pipeline_type_name})
    found = await uow.pipelines.find_for_update(name=fields["name"])
    if found is not None:
        return found["id"]
    if fields["type"] is None:
        raise NotFound(f"pipeline {fields['name']!r} not found; send `pipeline_type_name` to create it")
    type_id = await uow.pipeline_types.get_or_create(fields["type"])
    created = await uow.pipelines.insert_if_absent({"name": fields["name"], "pipeline_type_id": type_id})
    if created is None:
        found = await uow.pipelines.find_for_update(name=fields["name"])
        assert found is not None
        return found["id"]
    await _publish_pipeline_changes(uow, [created])
    return created


async def _parent_id(uow: UnitOfWork, parent_run_id: str | None) -> int | None:
    if parent_run_id is None:
        return None
    parent = await uow.executions.id_by_run_id(parent_run_id)
    if parent is None:
        raise NotFound(f"parent run {parent_run_id!r} not found")
    return parent


async def _record(uow: UnitOfWork, report: RunStarted | RunEnded) -> None:
    if isinstance(report, RunStarted):
        if await uow.executions.id_by_run_id(report.run_id) is not None:
            return  # an end carrying its start_date recorded this run already
        pipeline_id = await _resolve_pipeline(uow, report)
        await _start(
            uow,
            pipeline_id=pipeline_id,
            start_date=report.start_date,
            watermark=report.watermark,
            next_watermark=report.next_watermark,
            parent_id=await _parent_id(uow, report.parent_run_id),
            run_id=report.run_id,
        )
        return
    current = await uow.executions.for_end(run_id=report.run_id)
    if current is None:
        if report.start_date is None:
            raise NotFound(
                f"run {report.run_id!r} was never started; send its `start_date` to record it anyway"
            )
        pipeline_id = await _resolve_pipeline(uow, report)
        await _start(
            uow,
            pipeline_id=pipeline_id,
            start_date=report.start_date,
            watermark=None,
            next_watermark=None,
            parent_id=None,
            run_id=report.run_id,
        )
        current = await uow.executions.for_end(run_id=report.run_id)
        assert current is not None
    await _end(
        uow,
        current,
        end_date=report.end_date,
        completed_successfully=report.completed_successfully,
        counts={
            "total_rows": report.total_rows,
            "inserts": report.inserts,
            "updates": report.updates,
            "soft_deletes": report.soft_deletes,
        },
        execution_metadata=report.execution_metadata,
    )

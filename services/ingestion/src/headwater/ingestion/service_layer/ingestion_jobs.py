"""Ingestion jobs: the worker's ingestion of stored files (`file.stored` → parse, validate, load → `file.ingested`)
and 003's job routes (list, get, run now, kill).

One job per publication of a stored item (`current_job_id`). The worker starts it (a commit: running, one more
try, its run reported started), downloads the object, runs the engine (exactly once per stored item in the
destination), and ends it in one transaction with `file.ingested` (and `rows.quarantined`), the run's end and
the `file.stored` event recorded in the inbox. A redelivered `file.stored` finds the job ended, or (after a crash
mid-way) runs it again: the engine then loads the file once, or reports the load it already made.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from prometheus_client import Counter

from headwater.common.errors import Conflict, Invalid, NotFound
from headwater.common.events import FileIngested, FileStored, RowsQuarantined, RunEnded, RunStarted
from headwater.common.logging import get_logger
from headwater.common.paging import FIRST_PAGE, Cursor
from headwater.common.principal import SYSTEM, Principal
from headwater.ingestion.domain import files as f
from headwater.ingestion.domain.errors import UnreadableFile
from headwater.ingestion.domain.files import IngestionJob, ItemState, JobEnd, JobFilter, JobState, StoredItem
from headwater.ingestion.domain.metadata import Page
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.storage_errors import ObjectNotFound
from headwater.ingestion.domain.validation import FieldRule
from headwater.ingestion.service_layer.files import Rejected, _publish  # pyright: ignore[reportPrivateUsage]
from headwater.ingestion.service_layer.ingest import IngestReport, ingest_file
from headwater.ingestion.service_layer.metadata import cursor_page
from headwater.ingestion.service_layer.ports import OpenFile, Store, Warehouses
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork
from headwater.ingestion.service_layer.warehouses import Target, parse_settings_of, rules_of, target_for

log = get_logger(__name__)

CONSUMER = "ingestion.file-stored"
PIPELINE_TYPE = "qluster_dataset"
JOBS = Counter("headwater_ingestion_jobs_total", "Ingestion jobs ended, by state", ["state"])
KILL_POLL_SECONDS = 1.0

T = TypeVar("T")


class _Plan:
    """What a started job needs: the engine's inputs and the names its run is reported under."""

    def __init__(self, job: IngestionJob, item: StoredItem, pipeline: str, config: _Config) -> None:
        self.job = job
        self.item = item
        self.pipeline = pipeline
        self.config = config


class _Config:
    def __init__(
        self, settings: ParseSettings, rules: list[FieldRule], target: Target, ignored_signatures: set[str]
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.target = target
        self.ignored_signatures = ignored_signatures


def _pipeline_name(dataset_id: int, name: str | None) -> str:
    return (name or "").strip()[:150] or f"dataset {dataset_id}"


async def _config(uow: UnitOfWork, item: StoredItem, default_dsn: str) -> tuple[str, _Config]:
    """The dataset's pipeline name and the engine's inputs; `InvalidIngestSettings` when they cannot be made."""
    dataset = await uow.datasets.get(item.dataset_id)
    source = await uow.data_sources.get(item.data_source_id)
    if dataset is None or source is None or dataset.state == "deleted" or source.state == "deleted":
        raise f.InvalidIngestSettings("the file's dataset or data source was deleted")
    destination = await uow.destinations.get(dataset.parent_id) if dataset.parent_id else None
    validations = await uow.field_validations.of_dataset(dataset.id)
    if not validations:
        raise f.InvalidIngestSettings(
            "the dataset has no validation info: give each of its fields a type (Update Dataset Validation Info"
            " For One Field) before ingesting files"
        )
    try:
        settings = parse_settings_of(source, dataset)
        rules = rules_of(validations)
        target = target_for(dataset, destination, default_dsn)
    except Invalid as e:
        raise f.InvalidIngestSettings(str(e)) from e
    ignored = await uow.ignored_signatures.signatures_for(dataset.id, item.data_source_id)
    return _pipeline_name(dataset.id, dataset.name), _Config(settings, rules, target, ignored)


def _file_ingested(item: StoredItem, job: IngestionJob, end: JobEnd) -> FileIngested:
    return FileIngested(
        dataset_id=item.dataset_id,
        data_source_id=item.data_source_id,
        stored_item_id=item.id,
        status="ok" if end.state == JobState.FINISHED else "failed",
        rows_read=end.rows_read,
        rows_loaded=end.rows_loaded,
        rows_quarantined=end.rows_quarantined,
        rows_ignored=end.rows_ignored,
        fatal_error=end.error if end.state != JobState.FINISHED else None,
        started_at=job.started_at or job.created_at,
        ended_at=datetime.now(UTC),
    )


def _run_ended(pipeline: str, job: IngestionJob, end: JobEnd) -> RunEnded:
    return RunEnded(
        run_id=f.run_id_of(job.id, job.try_count),
        pipeline_name=pipeline,
        pipeline_type_name=PIPELINE_TYPE,
        start_date=job.started_at,
        end_date=datetime.now(UTC),
        completed_successfully=end.state == JobState.FINISHED,
        total_rows=end.rows_read,
        inserts=end.rows_loaded,
        execution_metadata={
            "rows_read": end.rows_read,
            "rows_loaded": end.rows_loaded,
            "rows_quarantined": end.rows_quarantined,
            "rows_ignored": end.rows_ignored,
            "stored_item_id": job.stored_item_id,
            "ingestion_job_id": job.id,
            **({"error": end.error[:2000]} if end.error else {}),
        },
    )


async def _end(
    uow: UnitOfWork, event: FileStored, plan: _Plan | None, item: StoredItem, job: IngestionJob, end: JobEnd
) -> None:
    """The job's end, the item's state, `file.ingested` (+ `rows.quarantined`), the run's end and the inbox
    record of `event`, in one transaction (nothing when another delivery of `event` recorded it already)."""
    async with uow:
        if not await uow.claim(CONSUMER, [str(event.event_id)]):
            return
        current = await uow.ingestion_jobs.get(job.id, lock=True)
        if current is not None and current.state == JobState.KILLED and end.state != JobState.KILLED:
            end = JobEnd(state=JobState.KILLED, error="killed while it ran")
        ended = await uow.ingestion_jobs.end(job.id, end)
        state = {JobState.FINISHED: ItemState.INGESTED}.get(end.state, ItemState.FAILED)
        await uow.stored_items.update(
            item.id,
            state=state.value,
            rows_loaded=end.rows_loaded,
            rows_quarantined=end.rows_quarantined,
            rows_ignored=end.rows_ignored,
            error=end.error,
        )
        if end.state != JobState.KILLED:
            uow.publish(_file_ingested(item, ended, end))
        if end.rows_quarantined:
            uow.publish(
                RowsQuarantined(
                    dataset_id=item.dataset_id,
                    data_source_id=item.data_source_id,
                    stored_item_id=item.id,
                    counts=dict(end.bad_rows_by_alert_type),
                )
            )
        if plan is not None:
            uow.report_runs(_run_ended(plan.pipeline, ended, end))
        await uow.commit()
    JOBS.labels(end.state.value).inc()
    log.info(
        "ingestion_job_ended",
        ingestion_job_id=job.id,
        stored_item_id=item.id,
        state=end.state.value,
        rows_loaded=end.rows_loaded,
        rows_quarantined=end.rows_quarantined,
        error=end.error,
    )


async def _start(uow: UnitOfWork, event: FileStored, default_dsn: str) -> _Plan | None:
    """The job of `event`'s stored item started (committed), or None when there is nothing to run (the item
    gone, its job ended or killed; the event is then recorded as processed)."""
    async with uow:
        item = await uow.stored_items.get(event.stored_item_id, lock=True)
        job = None
        if item is not None and item.current_job_id is not None:
            job = await uow.ingestion_jobs.get(item.current_job_id, lock=True)
        if item is None or job is None or job.state not in f.PENDING_JOB_STATES:
            await uow.claim(CONSUMER, [str(event.event_id)])
            await uow.commit()
            log.info("file_stored_skipped", stored_item_id=event.stored_item_id, job_state=job and job.state)
            return None
        pipeline, config, refused = "", None, None
        try:
            pipeline, config = await _config(uow, item, default_dsn)
        except f.InvalidIngestSettings as e:
            refused = JobEnd(state=JobState.ERROR, error=str(e))
        if config is not None:
            job = await uow.ingestion_jobs.start(job.id)
            item = await uow.stored_items.update(item.id, state=ItemState.INGESTING.value)
            uow.report_runs(
                RunStarted(
                    run_id=f.run_id_of(job.id, job.try_count),
                    pipeline_name=pipeline,
                    pipeline_type_name=PIPELINE_TYPE,
                    start_date=job.started_at,
                )
            )
            await uow.commit()
            return _Plan(job, item, pipeline, config)
    await _end(uow, event, None, item, job, refused or JobEnd(state=JobState.ERROR))
    return None


async def _unless_killed(uow: UnitOfWork, job_id: int, work: Awaitable[T]) -> T | None:
    """`work`'s result, or None when the job was killed meanwhile (`work` is then cancelled: the engine's
    transaction rolls back, so nothing of the file stays loaded)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=KILL_POLL_SECONDS)
            if done:
                return task.result()
            async with uow:
                state = await uow.ingestion_jobs.state_of(job_id)
            if state == JobState.KILLED:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return None
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _ingest(plan: _Plan, store: Store, warehouses: Warehouses, open_file: OpenFile) -> IngestReport:
    with tempfile.TemporaryDirectory(prefix="headwater-ingest-") as folder:
        path = Path(folder) / "file"
        await store.download_to(plan.item.object_key, path)
        warehouse = await warehouses.warehouse(plan.config.target.dsn, plan.config.target.schema)
        return await ingest_file(
            path,
            settings=plan.config.settings,
            rules=plan.config.rules,
            warehouse=warehouse,
            open_file=open_file,
            table=plan.config.target.table,
            stored_item_id=plan.item.id,
            data_source_id=plan.item.data_source_id,
            ignored_signatures=plan.config.ignored_signatures,
            replace=plan.job.replace,
        )


async def ingest_stored_file(
    uow: UnitOfWork,
    store: Store,
    warehouses: Warehouses,
    event: FileStored,
    *,
    default_dsn: str,
    open_file: OpenFile,
) -> None:
    """Ingest the file of one `file.stored` event (module docstring)."""
    plan = await _start(uow, event, default_dsn)
    if plan is None:
        return
    try:
        report = await _unless_killed(uow, plan.job.id, _ingest(plan, store, warehouses, open_file))
    except UnreadableFile as e:
        end = JobEnd(state=JobState.ERROR, error=e.reason)
    except ObjectNotFound:
        end = JobEnd(
            state=JobState.ERROR, error=f"the file is no longer in the object store ({plan.item.object_key})"
        )
    except f.InvalidIngestSettings as e:
        end = JobEnd(state=JobState.ERROR, error=str(e))
    else:
        if report is None:
            end = JobEnd(state=JobState.KILLED, error="killed while it ran; nothing of the file was loaded")
        else:
            end = JobEnd(
                state=JobState.FINISHED,
                rows_read=report.rows_read,
                rows_loaded=report.rows_loaded,
                rows_quarantined=report.rows_quarantined,
                rows_ignored=report.rows_ignored,
                bad_rows_by_alert_type=report.bad_rows_by_alert_type,
            )
    await _end(uow, event, plan, plan.item, plan.job, end)


async def ingest_stored_files(
    uow: UnitOfWork,
    store: Store,
    warehouses: Warehouses,
    events: Sequence[FileStored],
    *,
    default_dsn: str,
    open_file: OpenFile,
) -> list[Rejected]:
    """A batch of `file.stored` events, one file after the other (each file's parsing already overlaps its
    loading). Nothing is rejected: a file that cannot be ingested ends its job in error."""
    for event in events:
        await ingest_stored_file(uow, store, warehouses, event, default_dsn=default_dsn, open_file=open_file)
    return []


# -- 003's routes --------------------------------------------------------------------------------------------------


async def _job(uow: UnitOfWork, job_id: int, principal: Principal, *, lock: bool = False) -> IngestionJob:
    job = await uow.ingestion_jobs.get(job_id, principal.visible_data_sources, lock=lock)
    if job is None:
        raise NotFound(f"ingestion job {job_id} not found")
    return job


async def list_ingestion_jobs(
    uow: UnitOfWork,
    *,
    dataset_id: int | None = None,
    data_source_id: int | None = None,
    state: str | None = None,
    cursor: Cursor = FIRST_PAGE,
    principal: Principal = SYSTEM,
) -> Page:
    matching = JobFilter(
        dataset_id=dataset_id,
        data_source_id=data_source_id,
        state=state,
        data_sources=principal.visible_data_sources,
    )
    async with uow:
        return await cursor_page(uow.ingestion_jobs.walk, matching, cursor=cursor)


async def get_ingestion_job(uow: UnitOfWork, job_id: int, principal: Principal = SYSTEM) -> IngestionJob:
    async with uow:
        return await _job(uow, job_id, principal)


async def job_context(
    uow: UnitOfWork, jobs: Sequence[IngestionJob]
) -> tuple[dict[int, str | None], dict[int, str | None], dict[int, str]]:
    """Names of the jobs' data sources and datasets, and their stored items' object keys."""
    async with uow:
        sources = await uow.data_sources.names(sorted({j.data_source_id for j in jobs}))
        datasets = await uow.datasets.names(sorted({j.dataset_id for j in jobs}))
        keys: dict[int, str] = {}
        for item_id in sorted({j.stored_item_id for j in jobs}):
            item = await uow.stored_items.get(item_id)
            if item is not None:
                keys[item_id] = item.object_key
    return sources, datasets, keys


async def run_ingestion_job_now(uow: UnitOfWork, job_id: int, principal: Principal = SYSTEM) -> str:
    """Run Ingestion Job Now: the stored item is ingested again with 003's replace semantics (its earlier rows
    and bad rows are deleted in the load's transaction), through a new `file.stored`."""
    async with uow:
        job = await _job(uow, job_id, principal, lock=True)
        item = await uow.stored_items.get(job.stored_item_id, lock=True)
        if item is None or item.sha256 is None:
            raise Conflict(f"ingestion job {job_id}: its stored item has no file to ingest")
        if job.state in (JobState.RUNNING, JobState.CREATED, JobState.REQUEUED):
            raise Conflict(f"ingestion job {job_id} is {job.state} already; kill it first to start it over")
        if item.ignore_file:
            raise Conflict(f"stored item {item.id} is ignored (ignore_file): un-ignore it first")
        await _publish(uow, item, replace=True)
        await uow.commit()
    return f"stored item {item.id} queued for ingestion again (its rows are replaced)"


async def kill_ingestion_job(uow: UnitOfWork, job_id: int, principal: Principal = SYSTEM) -> str:
    """Kill Ingestion Job: a job waiting to run never runs; a running one is cancelled by its worker (which
    polls its state), and whatever it loaded is rolled back."""
    async with uow:
        job = await _job(uow, job_id, principal, lock=True)
        if job.state in f.ENDED_JOB_STATES:
            raise Conflict(f"ingestion job {job_id} has ended ({job.state}): there is nothing to kill")
        await uow.ingestion_jobs.end(job_id, JobEnd(state=JobState.KILLED, error="killed by a user"))
        if job.state != JobState.RUNNING:
            await uow.stored_items.update(job.stored_item_id, state=ItemState.FAILED.value, error="killed")
        await uow.commit()
    log.info("ingestion_job_killed", ingestion_job_id=job_id)
    return f"ingestion job {job_id} killed"

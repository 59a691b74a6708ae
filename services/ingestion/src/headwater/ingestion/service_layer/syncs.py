"""Use cases of syncs: sources and destinations (connections), jobs joining them, and the runs that copy rows.

Connections are checked against their connector's JSON Schema before they are stored, sealed. A job's every
change publishes `job.changed` (kind `sync`) so the scheduler keeps its cron; a due job, or "sync now", arrives
as `job.run.requested` and queues a run (`request_run`; one queued or running run per job, a second is recorded
as skipped). A worker's runner claims queued runs (`run_next`) and carries each out stream by stream: read from
the saved state, write, and save the new state only once the destination has committed, so a run killed
mid-way and claimed again (its lease ran out) writes nothing twice. Every run is a run of the job's tracked
pipeline and every stream a child run, through `ingress.runs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from prometheus_client import Counter, Histogram

from headwater.common.errors import Conflict, Duplicate, Invalid, NotFound, UseCaseError
from headwater.common.events import JobChanged, JobRunRequested, RunEnded, RunStarted
from headwater.common.logging import get_logger
from headwater.common.principal import SYSTEM, Principal
from headwater.ingestion.arrow import RecordBatch
from headwater.ingestion.domain.connectors import (
    CheckFailed,
    Destination,
    ReadRequest,
    Source,
    Stream,
    SyncMode,
    WriteFailed,
    WriteTarget,
)
from headwater.ingestion.domain.sensors import InvalidSensor, parse_cron
from headwater.ingestion.domain.syncs import (
    Connection,
    Job,
    LogLine,
    Role,
    RunStatus,
    StreamConfig,
    SyncRun,
    config_errors,
    job_name,
    masked,
    secret_fields,
    unknown_streams,
    unmasked,
)
from headwater.ingestion.service_layer.ports import Connectors, Sealer
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)

CONSUMER = "ingestion.syncs"
PIPELINE_TYPE = "sync"

RUNS = Counter("headwater_ingestion_sync_runs_total", "Sync runs ended, by outcome", ["outcome"])
ROWS = Counter(
    "headwater_ingestion_sync_rows_total", "Rows syncs wrote, by destination kind", ["destination"]
)
STREAM_SECONDS = Histogram(
    "headwater_ingestion_sync_stream_seconds",
    "Seconds one stream of a sync took",
    buckets=(1, 5, 30, 120, 600),
)


class ConnectionFailed(UseCaseError):
    """A source or destination that does not answer as configured (the message says what to change)."""

    status = 400


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    message: str
    reason: str | None = None


class ConnectionView(msgspec.Struct, frozen=True, kw_only=True):
    """A connection as its owner sees it: the configuration with its secrets masked, and the jobs using it."""

    connection: Connection
    config: dict[str, Any]
    jobs: list[JobView] = msgspec.field(default_factory=list)


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    job: Job
    source: Connection | None
    destination: Connection | None
    last_run: SyncRun | None


# -- connectors -------------------------------------------------------------------------------------------------


def _registry(connectors: Connectors, role: Role) -> Mapping[str, Source | Destination]:
    return connectors.sources() if role is Role.SOURCE else connectors.destinations()


def connector_of(connectors: Connectors, role: Role, kind: str) -> Source | Destination:
    known = _registry(connectors, role)
    found = known.get(kind.lower())
    if found is None:
        raise Invalid(f"type: unknown {role.value} type {kind!r}; one of {', '.join(sorted(known))}")
    return found


def source_of(connectors: Connectors, kind: str) -> Source:
    found = connectors.sources().get(kind.lower())
    if found is None:
        connector_of(connectors, Role.SOURCE, kind)  # raises, naming the known kinds
        raise AssertionError
    return found


def destination_of(connectors: Connectors, kind: str) -> Destination:
    found = connectors.destinations().get(kind.lower())
    if found is None:
        connector_of(connectors, Role.DESTINATION, kind)
        raise AssertionError
    return found


def kinds(connectors: Connectors, role: Role) -> list[str]:
    return sorted(_registry(connectors, role))


def spec_of(connectors: Connectors, role: Role, kind: str) -> dict[str, Any]:
    return connector_of(connectors, role, kind).spec()


def _checked_config(connector: Source | Destination, config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise Invalid("config: a JSON object is expected")
    fields: dict[str, Any] = dict(config)  # pyright: ignore[reportUnknownArgumentType]
    if errors := config_errors(connector.spec(), fields):
        raise Invalid("; ".join(errors))
    return fields


async def check(
    connectors: Connectors, role: Role, kind: str, config: Any, *, timeout: float = 10.0
) -> CheckResult:
    """Connect as configured, within `timeout` seconds; what failed in words a user can act on. A configuration
    that fails the connector's schema is `Invalid` (422) before anything is contacted."""
    connector = connector_of(connectors, role, kind)
    fields = _checked_config(connector, config)
    try:
        async with asyncio.timeout(timeout):
            await connector.check(fields)
    except CheckFailed as e:
        log.info("connection_check_failed", role=role.value, kind=kind, reason=e.reason)
        return CheckResult(ok=False, reason=e.reason, message=e.message)
    except TimeoutError:
        return CheckResult(
            ok=False,
            reason="timeout",
            message=f"no answer within {timeout:g} s: check the host, the port and that a firewall lets us through",
        )
    return CheckResult(ok=True, message="connection successful")


async def discover(connectors: Connectors, kind: str, config: Any, *, timeout: float = 60.0) -> list[Stream]:
    """The streams a source configuration can read; ConnectionFailed (400) saying why when it cannot."""
    connector = source_of(connectors, kind)
    fields = _checked_config(connector, config)
    try:
        async with asyncio.timeout(timeout):
            return await connector.discover(fields)
    except CheckFailed as e:
        raise ConnectionFailed(e.message) from None
    except TimeoutError:
        raise ConnectionFailed(f"the source did not list its streams within {timeout:g} s") from None


# -- connections -------------------------------------------------------------------------------------------------


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 255 or "\x00" in name:
        raise Invalid("name: 1 to 255 characters, without NUL characters")
    return name


def _who(principal: Principal) -> str:
    return principal.username or principal.subject


def view_of(connectors: Connectors, box: Sealer, connection: Connection) -> ConnectionView:
    config = box.open(connection.sealed_config)
    spec = _registry(connectors, connection.role).get(connection.kind)
    return ConnectionView(
        connection=connection, config=masked(config, secret_fields(spec.spec()) if spec else set(config))
    )


async def create_connection(
    uow: UnitOfWork,
    box: Sealer,
    connectors: Connectors,
    role: Role,
    project_id: str,
    *,
    name: str,
    kind: str,
    version: str,
    config: Any,
    principal: Principal = SYSTEM,
) -> ConnectionView:
    connector = connector_of(connectors, role, kind)
    fields = _checked_config(connector, config)
    async with uow:
        try:
            created = await uow.connections.add(
                role,
                project_id,
                name=_name(name),
                kind=connector.kind,
                version=version,
                sealed=box.seal(fields),
                by=_who(principal),
            )
        except Duplicate:
            raise Conflict(f"a {role.value} named {name.strip()!r} exists in project {project_id}") from None
        await uow.commit()
    log.info("connection_created", role=role.value, kind=connector.kind, connection_id=created.id)
    return view_of(connectors, box, created)


async def _connection(
    uow: UnitOfWork, role: Role, project_id: str, connection_id: int, *, lock: bool = False
) -> Connection:
    found = await uow.connections.get(role, project_id, connection_id, lock=lock)
    if found is None or found.deleted_at is not None:
        raise NotFound(f"{role.value} {connection_id} not found")
    return found


async def update_connection(
    uow: UnitOfWork,
    box: Sealer,
    connectors: Connectors,
    role: Role,
    project_id: str,
    connection_id: int,
    *,
    name: str,
    kind: str,
    version: str,
    config: Any,
    principal: Principal = SYSTEM,
) -> ConnectionView:
    """Replace a connection's fields; a secret sent back masked keeps its stored value."""
    connector = connector_of(connectors, role, kind)
    if not isinstance(config, dict):
        raise Invalid("config: a JSON object is expected")
    async with uow:
        current = await _connection(uow, role, project_id, connection_id, lock=True)
        sent: dict[str, Any] = dict(config)  # pyright: ignore[reportUnknownArgumentType]
        fields = _checked_config(
            connector, unmasked(sent, box.open(current.sealed_config), secret_fields(connector.spec()))
        )
        try:
            updated = await uow.connections.replace(
                connection_id,
                name=_name(name),
                kind=connector.kind,
                version=version,
                sealed=box.seal(fields),
                by=_who(principal),
            )
        except Duplicate:
            raise Conflict(f"a {role.value} named {name.strip()!r} exists in project {project_id}") from None
        await uow.commit()
    return view_of(connectors, box, updated)


async def delete_connection(
    uow: UnitOfWork, role: Role, project_id: str, connection_id: int, principal: Principal = SYSTEM
) -> Connection:
    """Soft delete: the connection stays readable in the history of the jobs that used it. Refused (409) while
    a live job uses it."""
    async with uow:
        current = await _connection(uow, role, project_id, connection_id, lock=True)
        if using := await uow.jobs.using(connection_id):
            names = ", ".join(repr(j.name) for j in using[:5])
            raise Conflict(
                f"{role.value} {current.name!r} is used by job(s) {names}: delete or change them first"
            )
        await uow.connections.delete(connection_id, _who(principal))
        await uow.commit()
    return current


async def get_connection(
    uow: UnitOfWork, box: Sealer, connectors: Connectors, role: Role, project_id: str, connection_id: int
) -> ConnectionView:
    async with uow:
        return view_of(connectors, box, await _connection(uow, role, project_id, connection_id))


async def list_connections(
    uow: UnitOfWork, box: Sealer, connectors: Connectors, role: Role, project_id: str
) -> list[ConnectionView]:
    """The project's live connections of one role, each with the jobs that use it and their last runs."""
    async with uow:
        connections = await uow.connections.live(role, project_id)
        jobs = await uow.jobs.live(project_id)
        latest = await uow.sync_runs.latest([j.id for j in jobs])
        names = {c.id: c for c in await uow.connections.live(Role.SOURCE, project_id)} | {
            c.id: c for c in await uow.connections.live(Role.DESTINATION, project_id)
        }
    views: list[ConnectionView] = []
    for c in connections:
        view = view_of(connectors, box, c)
        used = [j for j in jobs if c.id in (j.source_id, j.destination_id)]
        views.append(
            msgspec.structs.replace(
                view,
                jobs=[
                    JobView(
                        job=j,
                        source=names.get(j.source_id),
                        destination=names.get(j.destination_id),
                        last_run=latest.get(j.id),
                    )
                    for j in used
                ],
            )
        )
    return views


# -- jobs --------------------------------------------------------------------------------------------------------


def _frequency(value: str | None) -> str | None:
    try:
        return parse_cron(value)
    except InvalidSensor as e:
        raise Invalid(str(e).replace("schedule:", "frequency:", 1)) from None


def _publish_change(uow: UnitOfWork, job: Job) -> None:
    live = job.deleted_at is None
    uow.publish(
        JobChanged(
            job=job_name(job.id),
            kind="sync",
            version=job.version,
            cron=job.frequency,
            enabled=live and job.active and job.frequency is not None,
            removed=not live,
            job_id=job.id,
        )
    )


async def _job(uow: UnitOfWork, project_id: str, job_id: int, *, lock: bool = False) -> Job:
    job = await uow.jobs.get(job_id, project_id, lock=lock)
    if job is None or job.deleted_at is not None:
        raise NotFound(f"job {job_id} not found")
    return job


async def _checked_streams(
    connectors: Connectors, box: Sealer, source: Connection, streams: Sequence[StreamConfig], timeout: float
) -> None:
    """A job's streams must exist in its source (checked when the source answers in time; a run checks again)."""
    if not streams:
        raise Invalid("streams: select at least one stream")
    try:
        found = await discover(connectors, source.kind, box.open(source.sealed_config), timeout=timeout)
    except ConnectionFailed as e:
        raise Invalid(
            f"source {source.name!r} could not list its streams to check the job's: {e.detail}"
        ) from None
    if missing := unknown_streams(streams, found):
        raise Invalid(f"streams: {', '.join(repr(m) for m in missing)} not found in source {source.name!r}")


async def create_job(
    uow: UnitOfWork,
    box: Sealer,
    connectors: Connectors,
    project_id: str,
    *,
    name: str,
    source_id: int,
    destination_id: int,
    streams: Sequence[StreamConfig],
    frequency: str | None,
    active: bool = True,
    extra: Mapping[str, Any] | None = None,
    principal: Principal = SYSTEM,
    discover_timeout: float = 30.0,
) -> Job:
    cron = _frequency(frequency)
    async with uow:
        source = await _connection(uow, Role.SOURCE, project_id, source_id)
        await _connection(uow, Role.DESTINATION, project_id, destination_id)
    await _checked_streams(connectors, box, source, streams, discover_timeout)
    async with uow:
        try:
            job = await uow.jobs.add(
                project_id,
                name=_name(name),
                source_id=source_id,
                destination_id=destination_id,
                streams=streams,
                frequency=cron,
                active=active,
                extra=extra or {},
                by=_who(principal),
            )
        except Duplicate:
            raise Conflict(f"a job named {name.strip()!r} exists in project {project_id}") from None
        _publish_change(uow, job)
        await uow.commit()
    log.info("sync_job_created", job_id=job.id, streams=len(streams), frequency=cron)
    return job


async def update_job(
    uow: UnitOfWork,
    box: Sealer,
    connectors: Connectors,
    project_id: str,
    job_id: int,
    *,
    name: str | None = None,
    source_id: int | None = None,
    destination_id: int | None = None,
    streams: Sequence[StreamConfig] | None = None,
    frequency: str | None = None,
    active: bool | None = None,
    extra: Mapping[str, Any] | None = None,
    principal: Principal = SYSTEM,
    discover_timeout: float = 30.0,
) -> Job:
    """Change what is given; the schedule follows (`job.changed`)."""
    cron = _frequency(frequency) if frequency is not None else None
    async with uow:
        current = await _job(uow, project_id, job_id)
        source = await _connection(uow, Role.SOURCE, project_id, source_id or current.source_id)
        await _connection(uow, Role.DESTINATION, project_id, destination_id or current.destination_id)
    if streams is not None or source_id not in (None, current.source_id):
        await _checked_streams(connectors, box, source, streams or current.streams, discover_timeout)
    async with uow:
        current = await _job(uow, project_id, job_id, lock=True)
        try:
            job = await uow.jobs.replace(
                current,
                name=_name(name) if name is not None else current.name,
                source_id=source.id,
                destination_id=destination_id or current.destination_id,
                streams=streams if streams is not None else current.streams,
                frequency=cron if frequency is not None else current.frequency,
                active=active if active is not None else current.active,
                extra={**current.extra, **(extra or {})},
                by=_who(principal),
            )
        except Duplicate:
            raise Conflict(f"a job named {name!r} exists in project {project_id}") from None
        _publish_change(uow, job)
        await uow.commit()
    return job


async def delete_job(uow: UnitOfWork, project_id: str, job_id: int, principal: Principal = SYSTEM) -> Job:
    """Soft delete: its schedule goes, a running run is told to stop, its history stays."""
    async with uow:
        await _job(uow, project_id, job_id, lock=True)
        job = await uow.jobs.delete(job_id, _who(principal))
        await uow.sync_runs.request_cancel(job_id)
        _publish_change(uow, job)
        await uow.commit()
    return job


async def get_job(uow: UnitOfWork, project_id: str, job_id: int) -> JobView:
    async with uow:
        job = await _job(uow, project_id, job_id)
        latest = await uow.sync_runs.latest([job.id])
        return JobView(
            job=job,
            source=await uow.connections.by_id(job.source_id),
            destination=await uow.connections.by_id(job.destination_id),
            last_run=latest.get(job.id),
        )


async def list_jobs(
    uow: UnitOfWork, project_id: str, *, source_id: int | None = None, destination_id: int | None = None
) -> list[JobView]:
    async with uow:
        jobs = await uow.jobs.live(project_id, source_id=source_id, destination_id=destination_id)
        latest = await uow.sync_runs.latest([j.id for j in jobs])
        connections = {c.id: c for role in Role for c in await uow.connections.live(role, project_id)}
        missing = {i for j in jobs for i in (j.source_id, j.destination_id)} - set(connections)
        for connection_id in missing:  # deleted since: still named in the job's answer
            if (found := await uow.connections.by_id(connection_id)) is not None:
                connections[connection_id] = found
    return [
        JobView(
            job=j,
            source=connections.get(j.source_id),
            destination=connections.get(j.destination_id),
            last_run=latest.get(j.id),
        )
        for j in jobs
    ]


# -- runs --------------------------------------------------------------------------------------------------------


async def sync_now(uow: UnitOfWork, project_id: str, job_id: int, now: datetime) -> None:
    """ "Sync now": the same `job.run.requested` a due schedule publishes, so one path queues every run."""
    async with uow:
        job = await _job(uow, project_id, job_id)
        uow.publish(JobRunRequested(job=job_name(job.id), kind="sync", job_id=job.id, due_at=now))
        await uow.commit()


async def request_runs(uow: UnitOfWork, requests: Sequence[JobRunRequested], now: datetime) -> int:
    """Queue a run per request of a live job (in the transaction of their inbox records: a redelivered request
    queues nothing); a request while the job has a run queued or running is recorded as a skipped run."""
    queued = 0
    async with uow:
        fresh = await uow.claim(CONSUMER, [str(r.event_id) for r in requests])
        for request in requests:
            if str(request.event_id) not in fresh or request.kind != "sync" or request.job_id is None:
                continue
            job = await uow.jobs.get(request.job_id)
            if job is None or job.deleted_at is not None:
                log.info("sync_request_for_missing_job", job_id=request.job_id)
                continue
            trigger = "schedule" if request.schedule else "manual"
            run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"headwater:sync:{request.event_id}"))
            if await uow.sync_runs.queue(run_id, job.id, trigger=trigger, at=now) is None:
                await uow.sync_runs.skipped(
                    run_id, job.id, trigger=trigger, at=now, reason="a run of this job was queued or running"
                )
                RUNS.labels("skipped").inc()
                log.info("sync_run_skipped", job_id=job.id, run_id=run_id)
                continue
            queued += 1
            log.info("sync_run_queued", job_id=job.id, run_id=run_id, trigger=trigger)
        await uow.commit()
    return queued


async def cancel(uow: UnitOfWork, project_id: str, job_id: int) -> SyncRun:
    """Tell the job's queued or running run to stop (the runner stops it within seconds, committing nothing of
    the stream it was writing); Conflict when none is."""
    async with uow:
        await _job(uow, project_id, job_id)
        run = await uow.sync_runs.request_cancel(job_id)
        if run is None:
            raise Conflict(f"job {job_id} has no run queued or running")
        if run.status is RunStatus.QUEUED:  # nothing started: it ends here
            await uow.sync_runs.finish(run.id, RunStatus.CANCELED, at=datetime.now(UTC), error="canceled")
            RUNS.labels(RunStatus.CANCELED.value).inc()
        await uow.commit()
        run = await uow.sync_runs.get(run.id) or run
    return run


async def runs_of(uow: UnitOfWork, project_id: str, job_id: int, *, limit: int = 100) -> list[SyncRun]:
    async with uow:
        await _job(uow, project_id, job_id)
        return await uow.sync_runs.of_job(job_id, limit=limit)


async def run_logs(uow: UnitOfWork, project_id: str, job_id: int, run_id: str) -> list[LogLine]:
    try:
        uuid.UUID(run_id)
    except ValueError:
        raise NotFound(f"run {run_id!r} of job {job_id} not found: run ids are UUIDs") from None
    async with uow:
        job = await uow.jobs.get(job_id, project_id)
        run = await uow.sync_runs.get(run_id)
        if job is None or run is None or run.job_id != job.id:
            raise NotFound(f"run {run_id} of job {job_id} not found")
        return await uow.sync_runs.logs(run_id)


class _Canceled(Exception):
    pass


class _RunLog:
    """The run's own log lines: kept for the task-logs route and written to the service log too."""

    def __init__(self, run: SyncRun) -> None:
        self.run = run
        self.lines: list[LogLine] = []

    def __call__(self, level: str, message: str, **fields: Any) -> None:
        self.lines.append(LogLine(at=datetime.now(UTC), level=level, message=message, fields=fields))
        getattr(log, level)(message, job_id=self.run.job_id, run_id=self.run.id, **fields)

    def take(self) -> list[LogLine]:
        lines, self.lines = self.lines, []
        return lines


Clock = Callable[[], datetime]


async def run_next(
    uow_factory: UnitOfWorkFactory,
    box: Sealer,
    connectors: Connectors,
    *,
    lease: timedelta = timedelta(seconds=30),
    parallel_streams: int = 2,
    clock: Clock = lambda: datetime.now(UTC),
) -> SyncRun | None:
    """Claim one queued run (or one whose worker died) and carry it out; the run as it ended, or None when
    nothing waits."""
    uow = uow_factory()
    async with uow:
        now = clock()
        run = await uow.sync_runs.claim(now=now, lease_until=now + lease)
        if run is None:
            return None
        job = await uow.jobs.get(run.job_id)
        source = await uow.connections.by_id(job.source_id) if job else None
        destination = await uow.connections.by_id(job.destination_id) if job else None
        states = await uow.sync_runs.states(run.job_id)
        await uow.commit()
    if job is None or source is None or destination is None:  # foreign keys keep them; soft deletes too
        raise NotFound(f"job {run.job_id} of run {run.id}, or its source or destination, is gone")
    return await _carry_out(
        uow_factory, box, connectors, run, job, source, destination, states, lease, parallel_streams, clock
    )


async def _carry_out(
    uow_factory: UnitOfWorkFactory,
    box: Sealer,
    connectors: Connectors,
    run: SyncRun,
    job: Job,
    source: Connection,
    destination: Connection,
    states: dict[str, dict[str, Any]],
    lease: timedelta,
    parallel_streams: int,
    clock: Clock,
) -> SyncRun:
    note = _RunLog(run)
    pipeline = job_name(job.id)
    note("info", "sync_run_started", attempt=run.attempt, streams=len(job.streams))
    await _report(
        uow_factory,
        note,
        RunStarted(
            run_id=run.id, pipeline_name=pipeline, pipeline_type_name=PIPELINE_TYPE, start_date=run.started_at
        ),
    )
    stop = asyncio.Event()
    keeper = asyncio.create_task(_keep_lease(uow_factory, run, lease, stop, clock))
    status, error = RunStatus.SUCCEEDED, None
    try:
        reader = source_of(connectors, source.kind)
        writer = destination_of(connectors, destination.kind)
        source_config, destination_config = (
            box.open(source.sealed_config),
            box.open(destination.sealed_config),
        )
        try:
            found = {(s.namespace, s.name): s for s in await reader.discover(source_config)}
        except CheckFailed as e:
            raise WriteFailed(e.reason, f"the source could not list its streams: {e.message}") from None
        limit = asyncio.Semaphore(max(1, parallel_streams))

        async def one(stream: StreamConfig) -> None:
            async with limit:
                await _sync_stream(
                    uow_factory,
                    note,
                    run,
                    job,
                    stream,
                    found,
                    reader,
                    writer,
                    source_config,
                    destination_config,
                    states,
                    stop,
                    pipeline,
                )

        async with asyncio.TaskGroup() as group:
            for stream in job.streams:
                group.create_task(one(stream))
    except* _Canceled:
        status, error = RunStatus.CANCELED, "canceled"
    except* (WriteFailed, CheckFailed) as failures:
        status, error = RunStatus.FAILED, "; ".join(str(e) for e in failures.exceptions)
    except* Exception as failures:  # a connector's own bug must end the run, not the worker
        status, error = RunStatus.FAILED, f"{type(failures.exceptions[0]).__name__}: {failures.exceptions[0]}"
        log.exception("sync_run_crashed", job_id=job.id, run_id=run.id)
    finally:
        stop.set()
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    ended = clock()
    note(
        "info" if status is RunStatus.SUCCEEDED else "warning",
        "sync_run_ended",
        status=status.value,
        error=error,
    )
    uow = uow_factory()
    async with uow:
        await uow.sync_runs.finish(run.id, status, at=ended, error=error)
        await uow.sync_runs.log(run.id, note.take())
        final = await uow.sync_runs.get(run.id)
        uow.report_runs(
            RunEnded(
                run_id=run.id,
                pipeline_name=pipeline,
                pipeline_type_name=PIPELINE_TYPE,
                start_date=run.started_at,
                end_date=ended,
                completed_successfully=status is RunStatus.SUCCEEDED,
                total_rows=sum(final.rows.values()) if final else None,
                execution_metadata={"status": status.value, **({"error": error[:2000]} if error else {})},
            )
        )
        await uow.commit()
    RUNS.labels(status.value).inc()
    assert final is not None
    return final


async def _report(uow_factory: UnitOfWorkFactory, note: _RunLog, *reports: RunStarted | RunEnded) -> None:
    uow = uow_factory()
    async with uow:
        uow.report_runs(*reports)
        await uow.sync_runs.log(note.run.id, note.take())
        await uow.commit()


async def _keep_lease(
    uow_factory: UnitOfWorkFactory, run: SyncRun, lease: timedelta, stop: asyncio.Event, clock: Clock
) -> None:
    """Renew the run's lease and watch for a cancel, every few seconds, until the run ends."""
    every = min(2.0, lease.total_seconds() / 3)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set():
            return
        uow = uow_factory()
        async with uow:
            alive = await uow.sync_runs.renew(run.id, clock() + lease)
            canceled = await uow.sync_runs.cancel_requested(run.id)
            await uow.commit()
        if canceled or not alive:
            stop.set()


async def _sync_stream(
    uow_factory: UnitOfWorkFactory,
    note: _RunLog,
    run: SyncRun,
    job: Job,
    stream: StreamConfig,
    found: Mapping[tuple[str | None, str], Stream],
    reader: Source,
    writer: Destination,
    source_config: dict[str, Any],
    destination_config: dict[str, Any],
    states: Mapping[str, dict[str, Any]],
    stop: asyncio.Event,
    pipeline: str,
) -> None:
    described = found.get((stream.namespace, stream.name)) or next(
        (s for (_, name), s in found.items() if name == stream.name and stream.namespace is None), None
    )
    if described is None:
        raise WriteFailed("not_found", f"stream {stream.key!r} no longer exists in the source")
    resumable = stream.sync_mode is not SyncMode.FULL_REFRESH
    state = states.get(stream.key) if resumable else None
    request = ReadRequest(
        stream=described, sync_mode=stream.sync_mode, cursor_field=stream.cursor_field, state=state
    )
    target = WriteTarget(
        namespace=stream.destination_namespace,  # None: the destination's own (its schema, its prefix)
        table=stream.table,
        primary_key=stream.primary_key or described.primary_key,
        mode="append" if resumable else "overwrite",
        run_id=run.id,
    )
    child = f"{run.id}:{stream.key}"[:255]
    started = datetime.now(UTC)
    note("info", "stream_started", stream=stream.key, sync_mode=stream.sync_mode.value, resumed_from=state)
    read = 0
    last_state: Mapping[str, Any] | None = None

    async def batches() -> AsyncIterator[RecordBatch]:
        nonlocal read, last_state
        async for batch in reader.read(source_config, request):
            if stop.is_set():
                raise _Canceled
            read += batch.records.num_rows
            last_state = batch.state
            yield batch.records

    summary = await writer.write(destination_config, target, batches())
    if stop.is_set():
        raise _Canceled
    seconds = (datetime.now(UTC) - started).total_seconds()
    STREAM_SECONDS.observe(seconds)
    ROWS.labels(writer.kind).inc(summary.rows_written)
    note(
        "info",
        "stream_written",
        stream=stream.key,
        rows=summary.rows_written,
        location=summary.location,
        seconds=round(seconds, 3),
    )
    uow = uow_factory()
    async with uow:
        if resumable and last_state is not None:
            await uow.sync_runs.save_state(job.id, stream.key, last_state)
        await uow.sync_runs.count_rows(run.id, stream.key, summary.rows_written)
        await uow.sync_runs.log(run.id, note.take())
        uow.report_runs(
            RunStarted(
                run_id=child,
                pipeline_name=f"{pipeline}.{stream.key}",
                pipeline_type_name=PIPELINE_TYPE,
                start_date=started,
                parent_run_id=run.id,
            ),
            RunEnded(
                run_id=child,
                pipeline_name=f"{pipeline}.{stream.key}",
                pipeline_type_name=PIPELINE_TYPE,
                start_date=started,
                end_date=datetime.now(UTC),
                completed_successfully=True,
                total_rows=read,
                inserts=summary.rows_written,
            ),
        )
        await uow.commit()

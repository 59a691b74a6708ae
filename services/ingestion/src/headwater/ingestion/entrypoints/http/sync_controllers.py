"""Internal API of syncs: connector forms and checks, a project's sources and destinations, jobs, runs and run
logs. Each handler is one use case call (`service_layer/syncs.py`) and its answer in the contract's words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts import syncs as c
from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.http import caller
from headwater.ingestion.domain import syncs as d
from headwater.ingestion.domain.connectors import Stream
from headwater.ingestion.entrypoints.http.deps import (
    AppSettings,
    Caller,
    ConnectorsDep,
    SealerDep,
    UowFactory,
)
from headwater.ingestion.service_layer import syncs

ROLES = {"sources": d.Role.SOURCE, "destinations": d.Role.DESTINATION}


def _role(role: str) -> d.Role:
    found = ROLES.get(role)
    if found is None:
        raise NotFoundException(f"no {role!r} here: sources or destinations")
    return found


def stream_of(s: Stream) -> c.DiscoveredStream:
    return c.DiscoveredStream(
        namespace=s.namespace,
        name=s.name,
        columns=[
            c.StreamColumn(name=x.name, type=x.type, format=x.format, nullable=x.nullable) for x in s.columns
        ],
        primary_key=list(s.primary_key),
        cursor_candidates=list(s.cursor_candidates),
        sync_modes=[m.value for m in s.sync_modes],
    )


def _ref(view: syncs.JobView) -> c.JobRef:
    run = view.last_run
    return c.JobRef(
        id=view.job.id,
        name=view.job.name,
        active=view.job.active,
        source_name=view.source.name if view.source else None,
        destination_name=view.destination.name if view.destination else None,
        last_run_time=run.started_at if run else None,
        last_run_state=run.status.value if run else None,
    )


def connection_of(view: syncs.ConnectionView) -> c.Connection:
    x = view.connection
    return c.Connection(
        id=x.id,
        project_id=x.project_id,
        name=x.name,
        type=x.kind,
        version=x.version,
        config=view.config,
        created_at=x.created_at,
        updated_at=x.updated_at,
        created_by=x.created_by,
        updated_by=x.updated_by,
        deleted=x.deleted_at is not None,
        jobs=[_ref(j) for j in view.jobs],
    )


def selection_of(s: d.StreamConfig) -> c.StreamSelection:
    return msgspec.convert(msgspec.to_builtins(s), c.StreamSelection)


def streams_of(items: list[c.StreamSelection]) -> tuple[d.StreamConfig, ...]:
    return d.streams_from([msgspec.to_builtins(s) for s in items])


class SyncConnectorController(Controller):
    tags = ["syncs"]

    @get(Paths.CONNECTOR_TYPES)
    async def types(self, role: FromPath[str], connectors: ConnectorsDep) -> list[c.ConnectorType]:
        return [c.ConnectorType(type=k, versions=["latest"]) for k in syncs.kinds(connectors, _role(role))]

    @get(Paths.CONNECTOR_SPEC)
    async def spec(
        self,
        role: FromPath[str],
        kind: FromPath[str],
        connectors: ConnectorsDep,
        version: FromQuery[str] = "latest",
    ) -> c.ConnectorSpec:
        return c.ConnectorSpec(type=kind, version=version, spec=syncs.spec_of(connectors, _role(role), kind))

    @post(Paths.CHECK_CONNECTION, status_code=HTTP_200_OK)
    async def check(
        self,
        role: FromPath[str],
        data: JSONBody[c.ConnectionConfig],
        connectors: ConnectorsDep,
        settings: AppSettings,
    ) -> c.CheckAnswer:
        result = await syncs.check(
            connectors, _role(role), data.type, data.config, timeout=settings.connector_check_seconds
        )
        return c.CheckAnswer(ok=result.ok, message=result.message, reason=result.reason)

    @post(Paths.DISCOVER, status_code=HTTP_200_OK)
    async def discover(
        self, data: JSONBody[c.ConnectionConfig], connectors: ConnectorsDep
    ) -> list[c.DiscoveredStream]:
        return [stream_of(s) for s in await syncs.discover(connectors, data.type, data.config)]


class SyncConnectionController(Controller):
    tags = ["syncs"]
    dependencies = {"principal": Provide(caller, sync_to_thread=False)}

    @get(Paths.CONNECTIONS)
    async def list_all(
        self,
        project_id: FromPath[str],
        role: FromPath[str],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
    ) -> list[c.Connection]:
        views = await syncs.list_connections(uow_factory(), box, connectors, _role(role), project_id)
        return [connection_of(v) for v in views]

    @post(Paths.CONNECTIONS)
    async def create(
        self,
        project_id: FromPath[str],
        role: FromPath[str],
        data: JSONBody[c.ConnectionWrite],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
        principal: Caller,
    ) -> c.Connection:
        view = await syncs.create_connection(
            uow_factory(),
            box,
            connectors,
            _role(role),
            project_id,
            name=data.name,
            kind=data.type,
            version=data.version,
            config=data.config,
            principal=principal,
        )
        return connection_of(view)

    @get(Paths.CONNECTION)
    async def get_one(
        self,
        project_id: FromPath[str],
        role: FromPath[str],
        connection_id: FromPath[int],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
    ) -> c.Connection:
        view = await syncs.get_connection(
            uow_factory(), box, connectors, _role(role), project_id, connection_id
        )
        return connection_of(view)

    @put(Paths.CONNECTION)
    async def update(
        self,
        project_id: FromPath[str],
        role: FromPath[str],
        connection_id: FromPath[int],
        data: JSONBody[c.ConnectionWrite],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
        principal: Caller,
    ) -> c.Connection:
        view = await syncs.update_connection(
            uow_factory(),
            box,
            connectors,
            _role(role),
            project_id,
            connection_id,
            name=data.name,
            kind=data.type,
            version=data.version,
            config=data.config,
            principal=principal,
        )
        return connection_of(view)

    @delete(Paths.CONNECTION, status_code=HTTP_200_OK)
    async def remove(
        self,
        project_id: FromPath[str],
        role: FromPath[str],
        connection_id: FromPath[int],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
        principal: Caller,
    ) -> c.Connection:
        gone = await syncs.delete_connection(uow_factory(), _role(role), project_id, connection_id, principal)
        return connection_of(syncs.view_of(connectors, box, gone))


def job_of(view: syncs.JobView, box: Any, connectors: Any) -> c.Job:
    j, run = view.job, view.last_run
    return c.Job(
        id=j.id,
        project_id=j.project_id,
        name=j.name,
        source=connection_of(syncs.view_of(connectors, box, view.source)) if view.source else None,
        destination=connection_of(syncs.view_of(connectors, box, view.destination))
        if view.destination
        else None,
        streams=[selection_of(s) for s in j.streams],
        frequency=j.frequency,
        active=j.active,
        extra=j.extra,
        created_at=j.created_at,
        updated_at=j.updated_at,
        created_by=j.created_by,
        updated_by=j.updated_by,
        last_run_time=run.started_at if run else None,
        last_run_state=run.status.value if run else None,
    )


def run_of(r: d.SyncRun) -> c.Run:
    return c.Run(
        id=r.id,
        job_id=r.job_id,
        status=r.status.value,
        trigger=r.trigger,
        started_at=r.started_at,
        ended_at=r.ended_at,
        runtime_seconds=r.runtime_seconds,
        rows=r.rows,
        error=r.error,
        attempt=r.attempt,
    )


class SyncJobController(Controller):
    tags = ["syncs"]
    dependencies = {"principal": Provide(caller, sync_to_thread=False)}

    @get(Paths.JOBS)
    async def list_all(
        self,
        project_id: FromPath[str],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
        source_id: FromQuery[int | None] = None,
        destination_id: FromQuery[int | None] = None,
    ) -> list[c.Job]:
        views = await syncs.list_jobs(
            uow_factory(), project_id, source_id=source_id, destination_id=destination_id
        )
        return [job_of(v, box, connectors) for v in views]

    @post(Paths.JOBS)
    async def create(
        self,
        project_id: FromPath[str],
        data: JSONBody[c.JobWrite],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
        principal: Caller,
    ) -> c.Job:
        job = await syncs.create_job(
            uow_factory(),
            box,
            connectors,
            project_id,
            name=data.name,
            source_id=data.source_id,
            destination_id=data.destination_id,
            streams=streams_of(data.streams),
            frequency=data.frequency,
            active=data.active,
            extra=data.extra,
            principal=principal,
        )
        return job_of(await syncs.get_job(uow_factory(), project_id, job.id), box, connectors)

    @get(Paths.JOB)
    async def get_one(
        self,
        project_id: FromPath[str],
        job_id: FromPath[int],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
    ) -> c.Job:
        return job_of(await syncs.get_job(uow_factory(), project_id, job_id), box, connectors)

    @put(Paths.JOB)
    async def update(
        self,
        project_id: FromPath[str],
        job_id: FromPath[int],
        data: JSONBody[c.JobPatch],
        uow_factory: UowFactory,
        box: SealerDep,
        connectors: ConnectorsDep,
        principal: Caller,
    ) -> c.Job:
        await syncs.update_job(
            uow_factory(),
            box,
            connectors,
            project_id,
            job_id,
            name=data.name,
            source_id=data.source_id,
            destination_id=data.destination_id,
            streams=streams_of(data.streams) if data.streams is not None else None,
            frequency=data.frequency,
            active=data.active,
            extra=data.extra,
            principal=principal,
        )
        return job_of(await syncs.get_job(uow_factory(), project_id, job_id), box, connectors)

    @delete(Paths.JOB, status_code=HTTP_200_OK)
    async def remove(
        self, project_id: FromPath[str], job_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> c.Accepted:
        job = await syncs.delete_job(uow_factory(), project_id, job_id, principal)
        return c.Accepted(message=f"job {job.name!r} deleted")

    @post(Paths.SYNC_NOW, status_code=HTTP_200_OK)
    async def sync_now(
        self, project_id: FromPath[str], job_id: FromPath[int], uow_factory: UowFactory
    ) -> c.Accepted:
        await syncs.sync_now(uow_factory(), project_id, job_id, datetime.now(UTC))
        return c.Accepted(message=f"sync of job {job_id} requested")

    @post(Paths.CANCEL_SYNC, status_code=HTTP_200_OK)
    async def cancel(
        self, project_id: FromPath[str], job_id: FromPath[int], uow_factory: UowFactory
    ) -> c.Run:
        return run_of(await syncs.cancel(uow_factory(), project_id, job_id))

    @get(Paths.JOB_RUNS)
    async def runs(
        self,
        project_id: FromPath[str],
        job_id: FromPath[int],
        uow_factory: UowFactory,
        limit: FromQuery[int] = 100,
    ) -> list[c.Run]:
        return [
            run_of(r)
            for r in await syncs.runs_of(uow_factory(), project_id, job_id, limit=max(1, min(limit, 1000)))
        ]

    @get(Paths.RUN_LOGS)
    async def logs(
        self, project_id: FromPath[str], job_id: FromPath[int], run_id: FromPath[str], uow_factory: UowFactory
    ) -> list[c.LogLine]:
        lines = await syncs.run_logs(uow_factory(), project_id, job_id, run_id)
        return [c.LogLine(at=x.at, level=x.level, message=x.message, fields=x.fields) for x in lines]


CONTROLLERS: list[Any] = [SyncConnectorController, SyncConnectionController, SyncJobController]

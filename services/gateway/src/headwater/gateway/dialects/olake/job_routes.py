"""OLake jobs (spec 004 and the OLake UI v0.0.5): list (filters `source_id`, `dest_id`), create and update with
the source and destination embedded (got or created by name), soft delete, sync now, activate, the run history
(`tasks`, each run's id as `file_path`) and a run's log lines (POST `/tasks/{taskid}/logs` with `file_path` as
the UI calls it; GET `/task/{run id}/logs` as 004 writes it). `frequency` `"<N>-<unit>"` is a cron in
ingestion; `streams_config` (OLake's catalog as a string) is the stream selections, and kept as sent in the
job's `extra` so the UI reads back what it wrote."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody
from msgspec import Struct

from headwater.common.contracts.types import Name, Word, storable_json
from headwater.common.errors import NotFound
from headwater.gateway.dialects.deps import Caller, Service
from headwater.gateway.dialects.olake.connections import (
    DESTINATION,
    SOURCE,
    ConfigText,
    ConnectionBody,
    PathId,
    QueryId,
    get_or_create,
    ok,
    olake_config,
    olake_type,
    syncs_of,
)
from headwater.gateway.dialects.olake.syncs_client import Syncs
from headwater.gateway.dialects.olake.translate import (
    Refused,
    as_dict,
    cron_to_frequency,
    encode,
    frequency_to_cron,
    rfc3339,
    run_status,
    runtime,
    selections,
    streams_config_of,
)

StreamsConfig = ConfigText | dict[str, Any] | list[Any]


class JobBody(Struct, kw_only=True):
    name: Name
    source: ConnectionBody
    destination: ConnectionBody
    streams_config: StreamsConfig = "[]"
    frequency: Word = ""
    activate: bool | None = None

    def __post_init__(self) -> None:
        storable_json("streams_config", self.streams_config)


class Activate(Struct, kw_only=True):
    activate: bool


class LogsBody(Struct, kw_only=True):
    file_path: Word


def _text(streams_config: StreamsConfig) -> str:
    return streams_config if isinstance(streams_config, str) else encode(streams_config)


def _embedded(role: str, connection: dict[str, Any] | None) -> dict[str, Any]:
    if connection is None:
        return {"name": "", "type": "", "version": "", "config": "{}"}
    kind = str(connection["type"])
    return {
        "id": connection["id"],
        "name": connection["name"],
        "type": olake_type(role, kind),
        "version": connection.get("version") or "latest",
        "config": olake_config(role, kind, connection.get("config") or {}),
    }


def olake_job(job: dict[str, Any]) -> dict[str, Any]:
    """A job (ingestion's words) as the OLake UI lists it."""
    said = as_dict((as_dict(job.get("extra")) or {}).get("olake")) or {}
    item: dict[str, Any] = {
        "id": job["id"],
        "name": job["name"],
        "source": _embedded(SOURCE, job.get("source")),
        "destination": _embedded(DESTINATION, job.get("destination")),
        "streams_config": said.get("streams_config") or streams_config_of(job.get("streams") or []),
        "frequency": said.get("frequency") or cron_to_frequency(job.get("frequency")),
        "activate": bool(job["active"]),
        "created_at": rfc3339(job.get("created_at")),
        "updated_at": rfc3339(job.get("updated_at")),
        "created_by": job.get("created_by") or "",
        "updated_by": job.get("updated_by") or "",
    }
    if job.get("last_run_time"):
        item["last_run_time"] = rfc3339(job["last_run_time"])
        item["last_run_state"] = run_status(job.get("last_run_state"))
    return item


async def _write(syncs: Syncs, body: JobBody) -> dict[str, Any]:
    """The ingestion fields of an OLake job body, its source and destination got or created by name."""
    if not body.name.strip():
        raise Refused("name is required")
    streams_config = _text(body.streams_config)
    streams = selections(streams_config)
    cron = frequency_to_cron(body.frequency) if body.frequency.strip() else None
    source = await get_or_create(syncs, SOURCE, body.source)
    destination = await get_or_create(syncs, DESTINATION, body.destination)
    return {
        "name": body.name,
        "source_id": source["id"],
        "destination_id": destination["id"],
        "streams": streams,
        "frequency": cron,
        "extra": {"olake": {"streams_config": streams_config, "frequency": body.frequency}},
    }


def _task(run: dict[str, Any], now: datetime) -> dict[str, Any]:
    started = datetime.fromisoformat(str(run["started_at"]))
    return {
        "id": run["id"],
        "file_path": run["id"],
        "start_time": rfc3339(started),
        "runtime": runtime(run.get("runtime_seconds"), started, now),
        "status": run_status(run["status"]),
    }


async def _logs(syncs: Syncs, job_id: int, run_id: str) -> list[dict[str, Any]]:
    try:  # a run's id is a UUID: anything else names no task (and must not reach ingestion's database)
        run_id = str(uuid.UUID(run_id))
    except ValueError:
        raise NotFound(
            f"no task of job {job_id} has file_path {run_id!r}: use a file_path from /tasks"
        ) from None
    lines = await syncs.run_logs(job_id, run_id)
    return [
        {"level": str(x["level"]).lower(), "time": rfc3339(x["at"]), "message": str(x["message"])}
        for x in lines
        if str(x["level"]).lower() != "debug"
    ]


class JobController(Controller):
    path = "/api/v1/project/{project_id:str}/jobs"
    tags = ["Jobs (OLake)"]

    @get("/", summary="List jobs (filters: source_id, dest_id)")
    async def list_jobs(
        self,
        project_id: FromPath[str],
        ingestion: Service,
        principal: Caller,
        source_id: QueryId = None,
        dest_id: QueryId = None,
        destination_id: QueryId = None,
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        jobs = await syncs.jobs(
            source_id=source_id, destination_id=dest_id if dest_id is not None else destination_id
        )
        return ok([olake_job(j) for j in jobs])

    @post(
        "/",
        status_code=200,
        summary="Create a job; its source and destination are embedded and got or created by name",
    )
    async def create_job(
        self, project_id: FromPath[str], data: JSONBody[JobBody], ingestion: Service, principal: Caller
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        write = await _write(syncs, data)
        write["active"] = True if data.activate is None else data.activate
        return ok(olake_job(await syncs.create_job(write)))

    @put("/{job_id:int}", summary="Update a job (activate: pause or resume; missing keeps it)")
    async def update_job(
        self,
        project_id: FromPath[str],
        job_id: PathId,
        data: JSONBody[JobBody],
        ingestion: Service,
        principal: Caller,
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        await syncs.job(job_id)  # 404 before any source or destination is written
        patch = await _write(syncs, data)
        if data.activate is not None:
            patch["active"] = data.activate
        return ok(olake_job(await syncs.update_job(job_id, patch)))

    @delete("/{job_id:int}", status_code=200, summary="Soft delete a job (its runs stay readable)")
    async def delete_job(
        self, project_id: FromPath[str], job_id: PathId, ingestion: Service, principal: Caller
    ) -> Response[Any]:
        syncs = syncs_of(ingestion, principal, project_id)
        job = await syncs.job(job_id)
        await syncs.delete_job(job_id)
        return ok({"name": job["name"]})

    @post("/{job_id:int}/sync", status_code=200, summary="Sync now (the run is asynchronous: see tasks)")
    async def sync_job(
        self, project_id: FromPath[str], job_id: PathId, ingestion: Service, principal: Caller
    ) -> Response[Any]:
        await syncs_of(ingestion, principal, project_id).sync_now(job_id)
        return ok(None, "sync started")

    @post("/{job_id:int}/activate", status_code=200, summary="Pause (false) or resume (true) a job")
    async def activate_job(
        self,
        project_id: FromPath[str],
        job_id: PathId,
        data: JSONBody[Activate],
        ingestion: Service,
        principal: Caller,
    ) -> Response[Any]:
        await syncs_of(ingestion, principal, project_id).update_job(job_id, {"active": data.activate})
        return ok({"activate": data.activate})

    @get("/{job_id:int}/tasks", summary="The job's runs, newest first (file_path: the run id for the logs)")
    async def job_tasks(
        self, project_id: FromPath[str], job_id: PathId, ingestion: Service, principal: Caller
    ) -> Response[Any]:
        runs = await syncs_of(ingestion, principal, project_id).runs(job_id)
        now = datetime.now(UTC)
        return ok([_task(r, now) for r in runs])

    @post(
        "/{job_id:int}/tasks/{task_id:str}/logs",
        status_code=200,
        opt={"permission": "read"},
        summary="A run's log lines [{level, time, message}] (the run is the body's file_path)",
    )
    async def task_logs(
        self,
        project_id: FromPath[str],
        job_id: PathId,
        task_id: FromPath[Word],
        data: JSONBody[LogsBody],
        ingestion: Service,
        principal: Caller,
    ) -> Response[Any]:
        return ok(await _logs(syncs_of(ingestion, principal, project_id), job_id, data.file_path))

    @get(
        "/{job_id:int}/task/{task_id:str}/logs",
        summary="A run's log lines as 004 writes it (data.task_logs; the run id in the path)",
    )
    async def task_logs_004(
        self,
        project_id: FromPath[str],
        job_id: PathId,
        task_id: FromPath[Word],
        ingestion: Service,
        principal: Caller,
    ) -> Response[Any]:
        return ok({"task_logs": await _logs(syncs_of(ingestion, principal, project_id), job_id, task_id)})


ROUTES = [JobController]

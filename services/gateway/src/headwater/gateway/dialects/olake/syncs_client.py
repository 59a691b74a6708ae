"""Calls from the OLake routes to ingestion's internal sync API (contracts.syncs), as the caller: decoded JSON
on success, and a refusal of ingestion's raised again in OLake's envelope (same status, its sentence)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msgspec

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.errors import UseCaseError
from headwater.common.principal import Principal
from headwater.gateway.dialects.olake.translate import as_dict, as_list
from headwater.gateway.upstream import Upstream, UpstreamUnavailable


class IngestionRefused(UseCaseError):
    """Ingestion refused the call: its status and sentence, answered in the OLake envelope."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers=headers)
        self.status = status


def _sentence(body: bytes) -> str:
    """The sentence of a refusal's body (`{detail: str}`, or `{detail: [{loc, msg}]}` of an invalid field)."""
    try:
        value: Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body.decode(errors="replace")[:500] or "refused"
    root = as_dict(value)
    detail: Any = root.get("detail", root) if root is not None else value
    items = as_list(detail)
    if items is None:
        return str(detail)
    parts: list[str] = []
    for item in items:
        entry = as_dict(item)
        if entry is None:
            parts.append(str(item))
            continue
        where = ".".join(str(x) for x in as_list(entry.get("loc")) or [] if x != "body")
        message = str(entry.get("msg", ""))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _path(template: str, **values: str | int) -> str:
    path = template
    for key, value in values.items():
        path = path.replace(f"{{{key}:str}}", str(value)).replace(f"{{{key}:int}}", str(value))
    return path


@dataclass(frozen=True, slots=True)
class Syncs:
    """Ingestion's sync API for one caller in one project."""

    ingestion: Upstream
    principal: Principal
    project_id: str

    async def _call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        payload = None if body is None else msgspec.json.encode(body)
        answer = await self.ingestion.call(
            method, path, body=payload, principal=self.principal, query=urlencode(query or {})
        )
        if answer.status >= 500:
            headers = {"retry-after": answer.retry_after} if answer.retry_after else None
            if answer.status == 503:
                raise UpstreamUnavailable(
                    "ingestion is unavailable", retry_after=int(answer.retry_after or 1)
                )
            raise IngestionRefused(502, f"the ingestion service failed: {_sentence(answer.body)}", headers)
        if answer.status >= 400:
            raise IngestionRefused(answer.status, _sentence(answer.body))
        return msgspec.json.decode(answer.body) if answer.body else None

    # --- connector forms and checks
    async def spec(self, role: str, kind: str, version: str) -> dict[str, Any]:
        path = _path(Paths.CONNECTOR_SPEC, role=role, kind=kind)
        return await self._call("GET", path, query={"version": version})

    async def check(self, role: str, kind: str, config: dict[str, Any], version: str) -> dict[str, Any]:
        body = {"type": kind, "config": config, "version": version}
        return await self._call("POST", _path(Paths.CHECK_CONNECTION, role=role), body)

    async def discover(self, kind: str, config: dict[str, Any], version: str) -> list[dict[str, Any]]:
        return await self._call("POST", Paths.DISCOVER, {"type": kind, "config": config, "version": version})

    # --- connections
    async def connections(self, role: str) -> list[dict[str, Any]]:
        return await self._call("GET", _path(Paths.CONNECTIONS, project_id=self.project_id, role=role))

    async def connection(self, role: str, connection_id: int) -> dict[str, Any]:
        path = _path(Paths.CONNECTION, project_id=self.project_id, role=role, connection_id=connection_id)
        return await self._call("GET", path)

    async def create_connection(self, role: str, write: dict[str, Any]) -> dict[str, Any]:
        return await self._call(
            "POST", _path(Paths.CONNECTIONS, project_id=self.project_id, role=role), write
        )

    async def update_connection(self, role: str, connection_id: int, write: dict[str, Any]) -> dict[str, Any]:
        path = _path(Paths.CONNECTION, project_id=self.project_id, role=role, connection_id=connection_id)
        return await self._call("PUT", path, write)

    async def delete_connection(self, role: str, connection_id: int) -> dict[str, Any]:
        path = _path(Paths.CONNECTION, project_id=self.project_id, role=role, connection_id=connection_id)
        return await self._call("DELETE", path)

    # --- jobs and runs
    async def jobs(
        self, source_id: int | None = None, destination_id: int | None = None
    ) -> list[dict[str, Any]]:
        query = {
            k: v
            for k, v in {"source_id": source_id, "destination_id": destination_id}.items()
            if v is not None
        }
        return await self._call("GET", _path(Paths.JOBS, project_id=self.project_id), query=query)

    async def job(self, job_id: int) -> dict[str, Any]:
        return await self._call("GET", _path(Paths.JOB, project_id=self.project_id, job_id=job_id))

    async def create_job(self, write: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", _path(Paths.JOBS, project_id=self.project_id), write)

    async def update_job(self, job_id: int, patch: dict[str, Any]) -> dict[str, Any]:
        return await self._call("PUT", _path(Paths.JOB, project_id=self.project_id, job_id=job_id), patch)

    async def delete_job(self, job_id: int) -> dict[str, Any]:
        return await self._call("DELETE", _path(Paths.JOB, project_id=self.project_id, job_id=job_id))

    async def sync_now(self, job_id: int) -> dict[str, Any]:
        return await self._call("POST", _path(Paths.SYNC_NOW, project_id=self.project_id, job_id=job_id))

    async def runs(self, job_id: int) -> list[dict[str, Any]]:
        return await self._call("GET", _path(Paths.JOB_RUNS, project_id=self.project_id, job_id=job_id))

    async def run_logs(self, job_id: int, run_id: str) -> list[dict[str, Any]]:
        path = _path(Paths.RUN_LOGS, project_id=self.project_id, job_id=job_id, run_id=run_id)
        return await self._call("GET", path)

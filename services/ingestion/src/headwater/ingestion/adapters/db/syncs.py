"""Syncs in Postgres: connections (configurations sealed by the use cases), jobs, runs with their per-stream row
counts, stream states and run logs. One running run per job is a partial unique index: a second start is refused
by the database, whichever worker tries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import RowMapping, and_, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from headwater.common.db.repository import Repository
from headwater.ingestion.adapters.db.tables import sync_connection, sync_job, sync_log, sync_run, sync_state
from headwater.ingestion.domain.syncs import (
    ACTIVE,
    Connection,
    Job,
    LogLine,
    Role,
    RunStatus,
    StreamConfig,
    SyncRun,
)

C = sync_connection.c
J = sync_job.c
R = sync_run.c


class Connections(Repository):
    async def add(
        self, role: Role, project_id: str, *, name: str, kind: str, version: str, sealed: str, by: str | None
    ) -> Connection:
        stmt = (
            insert(sync_connection)
            .values(
                role=role,
                project_id=project_id,
                name=name,
                kind=kind,
                version=version,
                config=sealed,
                created_by=by,
                updated_by=by,
                updated_at=func.now(),
            )
            .returning(*sync_connection.c)
        )
        return _connection((await self.write(stmt)).mappings().one())

    async def get(
        self, role: Role, project_id: str, connection_id: int, *, lock: bool = False
    ) -> Connection | None:
        """One connection of the project, deleted ones included (a job's history still names them)."""
        stmt = select(sync_connection).where(
            C.id == connection_id, C.role == role, C.project_id == project_id
        )
        row = (await self.conn.execute(stmt.with_for_update() if lock else stmt)).mappings().first()
        return None if row is None else _connection(row)

    async def by_id(self, connection_id: int) -> Connection | None:
        row = (
            (await self.conn.execute(select(sync_connection).where(C.id == connection_id))).mappings().first()
        )
        return None if row is None else _connection(row)

    async def named(self, role: Role, project_id: str, name: str) -> Connection | None:
        stmt = select(sync_connection).where(
            C.role == role, C.project_id == project_id, C.name == name, C.deleted_at.is_(None)
        )
        row = (await self.conn.execute(stmt)).mappings().first()
        return None if row is None else _connection(row)

    async def live(self, role: Role, project_id: str) -> list[Connection]:
        stmt = (
            select(sync_connection)
            .where(C.role == role, C.project_id == project_id, C.deleted_at.is_(None))
            .order_by(C.id)
        )
        return [_connection(r) for r in (await self.conn.execute(stmt)).mappings()]

    async def replace(
        self, connection_id: int, *, name: str, kind: str, version: str, sealed: str, by: str | None
    ) -> Connection:
        stmt = (
            update(sync_connection)
            .where(C.id == connection_id)
            .values(
                name=name, kind=kind, version=version, config=sealed, updated_by=by, updated_at=func.now()
            )
            .returning(*sync_connection.c)
        )
        return _connection((await self.write(stmt)).mappings().one())

    async def delete(self, connection_id: int, by: str | None) -> None:
        await self.write(
            update(sync_connection)
            .where(C.id == connection_id)
            .values(deleted_at=func.now(), updated_by=by, updated_at=func.now())
        )


def _connection(row: RowMapping) -> Connection:
    fields = dict(row)
    fields["sealed_config"] = fields.pop("config")
    fields["role"] = Role(fields["role"])
    return Connection(**fields)


class Jobs(Repository):
    async def add(
        self,
        project_id: str,
        *,
        name: str,
        source_id: int,
        destination_id: int,
        streams: Sequence[StreamConfig],
        frequency: str | None,
        active: bool,
        extra: Mapping[str, Any],
        by: str | None,
    ) -> Job:
        stmt = (
            insert(sync_job)
            .values(
                project_id=project_id,
                name=name,
                source_id=source_id,
                destination_id=destination_id,
                streams=msgspec.to_builtins(list(streams)),
                frequency=frequency,
                active=active,
                extra=dict(extra),
                created_by=by,
                updated_by=by,
                updated_at=func.now(),
            )
            .returning(*sync_job.c)
        )
        return _job((await self.write(stmt)).mappings().one())

    async def get(self, job_id: int, project_id: str | None = None, *, lock: bool = False) -> Job | None:
        stmt = select(sync_job).where(J.id == job_id)
        if project_id is not None:
            stmt = stmt.where(J.project_id == project_id)
        row = (await self.conn.execute(stmt.with_for_update() if lock else stmt)).mappings().first()
        return None if row is None else _job(row)

    async def live(
        self, project_id: str, *, source_id: int | None = None, destination_id: int | None = None
    ) -> list[Job]:
        stmt = select(sync_job).where(J.project_id == project_id, J.deleted_at.is_(None)).order_by(J.id)
        if source_id is not None:
            stmt = stmt.where(J.source_id == source_id)
        if destination_id is not None:
            stmt = stmt.where(J.destination_id == destination_id)
        return [_job(r) for r in (await self.conn.execute(stmt)).mappings()]

    async def using(self, connection_id: int) -> list[Job]:
        """The live jobs that read from or write to a connection."""
        stmt = (
            select(sync_job)
            .where(
                J.deleted_at.is_(None), (J.source_id == connection_id) | (J.destination_id == connection_id)
            )
            .order_by(J.id)
        )
        return [_job(r) for r in (await self.conn.execute(stmt)).mappings()]

    async def replace(
        self,
        job: Job,
        *,
        name: str,
        source_id: int,
        destination_id: int,
        streams: Sequence[StreamConfig],
        frequency: str | None,
        active: bool,
        extra: Mapping[str, Any],
        by: str | None,
    ) -> Job:
        stmt = (
            update(sync_job)
            .where(J.id == job.id)
            .values(
                name=name,
                source_id=source_id,
                destination_id=destination_id,
                streams=msgspec.to_builtins(list(streams)),
                frequency=frequency,
                active=active,
                extra=dict(extra),
                version=J.version + 1,
                updated_by=by,
                updated_at=func.now(),
            )
            .returning(*sync_job.c)
        )
        return _job((await self.write(stmt)).mappings().one())

    async def delete(self, job_id: int, by: str | None) -> Job:
        stmt = (
            update(sync_job)
            .where(J.id == job_id)
            .values(
                deleted_at=func.now(),
                active=False,
                version=J.version + 1,
                updated_by=by,
                updated_at=func.now(),
            )
            .returning(*sync_job.c)
        )
        return _job((await self.write(stmt)).mappings().one())


def _job(row: RowMapping) -> Job:
    fields = dict(row)
    fields["streams"] = msgspec.convert(fields["streams"], tuple[StreamConfig, ...])
    return Job(**fields)


class SyncRuns(Repository):
    async def queue(self, run_id: str, job_id: int, *, trigger: str, at: datetime) -> SyncRun | None:
        """Record a queued run; None when the job has one queued or running (the partial unique index decides,
        whichever worker tries)."""
        stmt = (
            pg_insert(sync_run)
            .values(id=run_id, job_id=job_id, status=RunStatus.QUEUED, trigger=trigger, started_at=at)
            .on_conflict_do_nothing()
            .returning(*sync_run.c)
        )
        row = (await self.write(stmt)).mappings().first()
        return None if row is None else _run(row)

    async def claim(self, *, now: datetime, lease_until: datetime) -> SyncRun | None:
        """Take the oldest queued run, or a running one whose worker stopped renewing its lease (it died): it
        runs again from its streams' saved states. SKIP LOCKED: two runners never take the same run."""
        candidate = (
            select(R.id)
            .where((R.status == RunStatus.QUEUED) | ((R.status == RunStatus.RUNNING) & (R.lease_until < now)))
            .order_by(R.started_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(sync_run)
            .where(R.id == candidate)
            .values(status=RunStatus.RUNNING, attempt=R.attempt + 1, lease_until=lease_until)
            .returning(*sync_run.c)
        )
        row = (await self.write(stmt)).mappings().first()
        return None if row is None else _run(row)

    async def renew(self, run_id: str, lease_until: datetime) -> bool:
        """Extend a running run's lease; False when it is no longer running (canceled, or claimed by another)."""
        result = await self.write(
            update(sync_run)
            .where(R.id == run_id, R.status == RunStatus.RUNNING)
            .values(lease_until=lease_until)
        )
        return result.rowcount > 0

    async def skipped(self, run_id: str, job_id: int, *, trigger: str, at: datetime, reason: str) -> None:
        await self.write(
            pg_insert(sync_run)
            .values(
                id=run_id,
                job_id=job_id,
                status=RunStatus.SKIPPED,
                trigger=trigger,
                started_at=at,
                ended_at=at,
                error=reason,
            )
            .on_conflict_do_nothing(index_elements=[R.id])
        )

    async def get(self, run_id: str) -> SyncRun | None:
        row = (await self.conn.execute(select(sync_run).where(R.id == run_id))).mappings().first()
        return None if row is None else _run(row)

    async def of_job(self, job_id: int, *, limit: int = 100) -> list[SyncRun]:
        stmt = select(sync_run).where(R.job_id == job_id).order_by(R.started_at.desc()).limit(limit)
        return [_run(r) for r in (await self.conn.execute(stmt)).mappings()]

    async def latest(self, job_ids: Sequence[int]) -> dict[int, SyncRun]:
        """The newest run of each job (for `last_run_time` / `last_run_state`)."""
        if not job_ids:
            return {}
        stmt = (
            select(sync_run)
            .where(R.job_id.in_(list(job_ids)))
            .distinct(R.job_id)
            .order_by(R.job_id, R.started_at.desc())
        )
        return {r["job_id"]: _run(r) for r in (await self.conn.execute(stmt)).mappings()}

    async def count_rows(self, run_id: str, stream: str, rows: int) -> None:
        await self.write(
            update(sync_run)
            .where(R.id == run_id)
            .values(rows=R.rows.op("||")(func.jsonb_build_object(stream, rows)))
        )

    async def finish(self, run_id: str, status: RunStatus, *, at: datetime, error: str | None = None) -> bool:
        """End a queued or running run; False when it had ended already (a second finish changes nothing)."""
        result = await self.write(
            update(sync_run)
            .where(R.id == run_id, R.status.in_(ACTIVE))
            .values(status=status, ended_at=at, error=error)
        )
        return result.rowcount > 0

    async def request_cancel(self, job_id: int) -> SyncRun | None:
        stmt = (
            update(sync_run)
            .where(R.job_id == job_id, R.status.in_(ACTIVE))
            .values(cancel_requested=True)
            .returning(*sync_run.c)
        )
        row = (await self.write(stmt)).mappings().first()
        return None if row is None else _run(row)

    async def cancel_requested(self, run_id: str) -> bool:
        return bool(await self.conn.scalar(select(R.cancel_requested).where(R.id == run_id)))

    async def states(self, job_id: int) -> dict[str, dict[str, Any]]:
        rows = await self.conn.execute(
            select(sync_state.c.stream, sync_state.c.state).where(sync_state.c.job_id == job_id)
        )
        return {r.stream: r.state for r in rows}

    async def save_state(self, job_id: int, stream: str, state: Mapping[str, Any]) -> None:
        stmt = pg_insert(sync_state).values(job_id=job_id, stream=stream, state=dict(state))
        await self.write(
            stmt.on_conflict_do_update(
                index_elements=[sync_state.c.job_id, sync_state.c.stream],
                set_={"state": stmt.excluded.state, "updated_at": func.now()},
            )
        )

    async def clear_state(self, job_id: int, stream: str) -> None:
        await self.write(
            sync_state.delete().where(and_(sync_state.c.job_id == job_id, sync_state.c.stream == stream))
        )

    async def log(self, run_id: str, lines: Sequence[LogLine]) -> None:
        if lines:
            await self.write(
                insert(sync_log).values(
                    [
                        {
                            "run_id": run_id,
                            "at": x.at,
                            "level": x.level,
                            "message": x.message,
                            "fields": x.fields,
                        }
                        for x in lines
                    ]
                )
            )

    async def logs(self, run_id: str, *, limit: int = 10_000) -> list[LogLine]:
        stmt = (
            select(sync_log.c.at, sync_log.c.level, sync_log.c.message, sync_log.c.fields)
            .where(sync_log.c.run_id == run_id)
            .order_by(sync_log.c.id)
            .limit(limit)
        )
        return await self.all(stmt, LogLine)


def _run(row: RowMapping) -> SyncRun:
    fields = dict(row)
    fields["status"] = RunStatus(fields["status"])
    return SyncRun(**fields)

"""Repositories of Qluster's files: stored items (with the nonces of their signed uploads and the contents
ignored per dataset) and ingestion jobs; and the run reports the jobs write to the outbox for `ingress.runs`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Table, and_, delete, func, insert, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from headwater.common.db.repository import Repository
from headwater.common.events import RunReport
from headwater.common.ids import uuid7
from headwater.common.telemetry import inject_headers
from headwater.ingestion.adapters.db.tables import ignored_content, ingestion_job, stored_item, upload_nonce
from headwater.ingestion.domain.files import (
    IngestionJob,
    ItemFilter,
    JobEnd,
    JobFilter,
    NewStoredItem,
    StoredItem,
)

ITEM_COLUMNS = [stored_item.c[name] for name in StoredItem.__struct_fields__]
JOB_COLUMNS = [ingestion_job.c[name] for name in IngestionJob.__struct_fields__]


def _visible(table: Table, data_sources: Sequence[int] | None) -> ColumnElement[bool]:
    return true() if data_sources is None else table.c.data_source_id.in_(list(data_sources))


def _walk_order(table: Table, from_id: int | None, ascending: bool) -> tuple[ColumnElement[bool], Any]:
    if from_id is None:
        return true(), table.c.id.asc() if ascending else table.c.id.desc()
    if ascending:
        return table.c.id >= from_id, table.c.id.asc()
    return table.c.id <= from_id, table.c.id.desc()


class StoredItems(Repository):
    async def add(self, item: NewStoredItem) -> StoredItem:
        return await self.written(
            insert(stored_item)
            .values(**{f: getattr(item, f) for f in item.__struct_fields__})
            .returning(*ITEM_COLUMNS),
            StoredItem,
        )

    async def get(
        self, item_id: int, data_sources: Sequence[int] | None = None, *, lock: bool = False
    ) -> StoredItem | None:
        stmt = select(*ITEM_COLUMNS).where(stored_item.c.id == item_id, _visible(stored_item, data_sources))
        return await self.first(stmt.with_for_update() if lock else stmt, StoredItem)

    async def by_key(self, object_key: str) -> StoredItem | None:
        return await self.first(
            select(*ITEM_COLUMNS).where(stored_item.c.object_key == object_key), StoredItem
        )

    async def update(self, item_id: int, **values: Any) -> StoredItem:
        return await self.written(
            update(stored_item)
            .where(stored_item.c.id == item_id)
            .values(**values, updated_at=func.now())
            .returning(*ITEM_COLUMNS),
            StoredItem,
        )

    async def remove(self, item_id: int) -> None:
        await self.write(delete(stored_item).where(stored_item.c.id == item_id))

    async def walk(
        self, matching: ItemFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[StoredItem]:
        c = stored_item.c
        where, order = _walk_order(stored_item, from_id, ascending)
        conditions = [where, _visible(stored_item, matching.data_sources)]
        if matching.data_source_id is not None:
            conditions.append(c.data_source_id == matching.data_source_id)
        if matching.parent_id is not None:
            conditions.append(c.parent_id == matching.parent_id)
        if matching.is_uploaded_via_signed_url is not None:
            conditions.append(c.is_uploaded_via_signed_url.is_(matching.is_uploaded_via_signed_url))
        return await self.all(
            select(*ITEM_COLUMNS).where(and_(*conditions)).order_by(order).limit(limit), StoredItem
        )

    async def use_nonce(self, item_id: int, nonce: str) -> bool:
        """Records a signed upload's nonce; False when it was used already (the upload is refused)."""
        result = await self.write(
            pg_insert(upload_nonce)
            .values(nonce=nonce, stored_item_id=item_id)
            .on_conflict_do_nothing()
            .returning(upload_nonce.c.nonce)
        )
        return result.first() is not None

    async def ignore_content(self, dataset_id: int, sha256: str, item_id: int) -> None:
        await self.write(
            pg_insert(ignored_content)
            .values(dataset_id=dataset_id, sha256=sha256, stored_item_id=item_id)
            .on_conflict_do_nothing()
        )

    async def unignore_content(self, dataset_id: int, sha256: str) -> None:
        await self.write(
            delete(ignored_content).where(
                ignored_content.c.dataset_id == dataset_id, ignored_content.c.sha256 == sha256
            )
        )

    async def ignored_as(self, dataset_id: int, sha256: str) -> int | None:
        """The stored item whose ignored content this is, if the dataset ignores these bytes."""
        value = await self.conn.scalar(
            select(ignored_content.c.stored_item_id).where(
                ignored_content.c.dataset_id == dataset_id, ignored_content.c.sha256 == sha256
            )
        )
        return None if value is None else int(value)


class IngestionJobs(Repository):
    async def add(self, item: StoredItem, *, replace: bool = False) -> IngestionJob:
        return await self.written(
            insert(ingestion_job)
            .values(
                stored_item_id=item.id,
                dataset_id=item.dataset_id,
                data_source_id=item.data_source_id,
                state="created",
                replace=replace,
            )
            .returning(*JOB_COLUMNS),
            IngestionJob,
        )

    async def get(
        self, job_id: int, data_sources: Sequence[int] | None = None, *, lock: bool = False
    ) -> IngestionJob | None:
        stmt = select(*JOB_COLUMNS).where(ingestion_job.c.id == job_id, _visible(ingestion_job, data_sources))
        return await self.first(stmt.with_for_update() if lock else stmt, IngestionJob)

    async def state_of(self, job_id: int) -> str | None:
        value = await self.conn.scalar(select(ingestion_job.c.state).where(ingestion_job.c.id == job_id))
        return None if value is None else str(value)

    async def start(self, job_id: int) -> IngestionJob:
        """One more try: running, started now, the end and error of an earlier try cleared."""
        return await self.written(
            update(ingestion_job)
            .where(ingestion_job.c.id == job_id)
            .values(
                state="running",
                try_count=ingestion_job.c.try_count + 1,
                started_at=func.now(),
                ended_at=None,
                error=None,
            )
            .returning(*JOB_COLUMNS),
            IngestionJob,
        )

    async def end(self, job_id: int, end: JobEnd) -> IngestionJob:
        return await self.written(
            update(ingestion_job)
            .where(ingestion_job.c.id == job_id)
            .values(
                state=end.state.value,
                rows_read=end.rows_read,
                rows_loaded=end.rows_loaded,
                rows_quarantined=end.rows_quarantined,
                rows_ignored=end.rows_ignored,
                error=end.error,
                ended_at=func.now(),
            )
            .returning(*JOB_COLUMNS),
            IngestionJob,
        )

    async def walk(
        self, matching: JobFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[IngestionJob]:
        c = ingestion_job.c
        where, order = _walk_order(ingestion_job, from_id, ascending)
        conditions = [where, _visible(ingestion_job, matching.data_sources)]
        if matching.dataset_id is not None:
            conditions.append(c.dataset_id == matching.dataset_id)
        if matching.data_source_id is not None:
            conditions.append(c.data_source_id == matching.data_source_id)
        if matching.state is not None:
            conditions.append(c.state == matching.state)
        return await self.all(
            select(*JOB_COLUMNS).where(and_(*conditions)).order_by(order).limit(limit), IngestionJob
        )


def run_report_rows(reports: Sequence[RunReport]) -> list[dict[str, Any]]:
    """Outbox rows publishing `reports` to `ingress.runs`, keyed by pipeline name so a run's start precedes its
    end (the relay keeps per-key order)."""
    headers = inject_headers()
    return [
        {
            "topic": report.topic,
            "key": report.pipeline_name or str(report.pipeline_id),
            "event_type": type(report).__struct_config__.tag,
            "event_id": str(uuid7()),
            "payload": msgspec.json.encode(report),
            "headers": headers,
        }
        for report in reports
    ]

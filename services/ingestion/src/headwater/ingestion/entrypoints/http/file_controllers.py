"""Internal API of Qluster's files (spec 003): stored items (listed, created with an upload URL, uploaded as a
stream, patched to be ignored, published, deleted) and ingestion jobs (listed, read, run again, killed).

Upload bodies are streamed from the request to the object store, never held whole in memory, and are not
capped here: the gateway, which every upload comes through, caps them (HEADWATER_GATEWAY_UPLOAD_MAX_BYTES)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.contracts.qluster_files import IngestionJob as IngestionJobAnswer
from headwater.common.contracts.qluster_files import (
    IngestionJobPage,
    PublishResult,
    StoredItemCreate,
    StoredItemPage,
    StoredItemPatch,
    UploadUrl,
)
from headwater.common.contracts.qluster_files import StoredItem as StoredItemAnswer
from headwater.common.contracts.qluster_metadata import TextResult
from headwater.common.http import CursorQuery, caller, cursor_query
from headwater.ingestion.domain.files import IngestionJob, JobState, StoredItem
from headwater.ingestion.entrypoints.http.deps import AppSettings, Caller, StoreDep, UowFactory, WarehousesDep
from headwater.ingestion.service_layer import files, ingestion_jobs


def _file_type(item: StoredItem) -> str | None:
    name = (item.file_name or item.object_key).lower()
    for suffix in (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".gz", ".zip", ".snappy"):
        if name.endswith(suffix):
            return suffix[1:]
    return None


def stored_item_of(item: StoredItem, data_source_name: str | None) -> StoredItemAnswer:
    """003's stored item (its names), plus Headwater's state, size and sha256."""
    return StoredItemAnswer(
        id=item.id,
        key=item.object_key,
        file_type=_file_type(item),
        data_source_model_id=item.data_source_id,
        data_source_model_name=data_source_name,
        bad_rows_count=item.rows_quarantined,
        successful_rows_count=item.rows_loaded,
        ignored_rows_count=item.rows_ignored,
        ignore_file=item.ignore_file,
        is_ingested=item.state == "ingested",
        is_uploaded_via_signed_url=item.is_uploaded_via_signed_url,
        created_at=item.created_at,
        parent_id=item.parent_id,
        dataset_id=item.dataset_id,
        signature=item.sha256,
        other_names=[],
        duplicate_of_id=item.duplicate_of_id,
        ignored_rows_line_number_to_signature={},
        file_name=item.file_name,
        content_type=item.content_type,
        size=item.size,
        sha256=item.sha256,
        state=item.state,
        error=item.error,
        ingestion_job_id=item.current_job_id,
        stored_at=item.stored_at,
    )


def ingestion_job_of(
    job: IngestionJob, sources: dict[int, str | None], datasets: dict[int, str | None], keys: dict[int, str]
) -> IngestionJobAnswer:
    return IngestionJobAnswer(
        id=job.id,
        state=job.state,
        key=keys.get(job.stored_item_id),
        stored_item_id=job.stored_item_id,
        data_source_model_id=job.data_source_id,
        data_source_model_name=sources.get(job.data_source_id),
        settings_model_id=job.dataset_id,
        alert_item_id=None,
        is_alert_resolved=None,
        successful_rows_count=job.rows_loaded,
        bad_rows_count=job.rows_quarantined,
        ignored_rows_count=job.rows_ignored,
        rows_read=job.rows_read,
        dataset_id=job.dataset_id,
        dataset_name=datasets.get(job.dataset_id),
        msg=job.error or "",
        try_count=job.try_count,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.ended_at,
    )


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


class StoredItemController(Controller):
    tags = ["stored items"]
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(Paths.STORED_ITEMS)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
        data_source_model_id: FromQuery[int | None] = None,
        parent_id: FromQuery[int | None] = None,
        is_uploaded_via_signed_url: FromQuery[bool | None] = None,
    ) -> StoredItemPage:
        page = await files.list_stored_items(
            uow_factory(),
            data_source_id=data_source_model_id,
            parent_id=parent_id,
            is_uploaded_via_signed_url=is_uploaded_via_signed_url,
            cursor=cursor,
            principal=principal,
        )
        names = await files.data_source_names(uow_factory(), page.results)
        return StoredItemPage(
            next=page.next,
            previous=page.previous,
            results=[stored_item_of(i, names.get(i.data_source_id)) for i in page.results],
            filters={
                "data_source_model_id": data_source_model_id,
                "parent_id": parent_id,
                "is_uploaded_via_signed_url": is_uploaded_via_signed_url,
            },
        )

    @post(Paths.STORED_ITEMS, status_code=HTTP_200_OK)
    async def create(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        settings: AppSettings,
        store: StoreDep,
        data: JSONBody[StoredItemCreate],
    ) -> UploadUrl:
        return await files.create_stored_item(
            uow_factory(),
            store,
            data_source_id=data.data_source_model_id,
            key=data.key,
            secret=settings.upload_secret(),
            expires=timedelta(seconds=settings.upload_url_seconds),
            principal=principal,
        )

    @post(Paths.UPLOAD, status_code=HTTP_200_OK, request_max_body_size=None)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        uow_factory: UowFactory,
        principal: Caller,
        store: StoreDep,
        data_source_model_id: FromQuery[int],
        file_name: FromQuery[str],
        content_type: FromQuery[str | None] = None,
    ) -> StoredItemAnswer:
        item = await files.upload_file(
            uow_factory(),
            store,
            data_source_id=data_source_model_id,
            file_name=file_name,
            content_type=content_type,
            chunks=_body(request),
            principal=principal,
        )
        return await self._answer(uow_factory, item)

    @put(Paths.TOKEN_UPLOAD, status_code=HTTP_200_OK, request_max_body_size=None)
    async def upload_with_token(
        self,
        request: Request[Any, Any, Any],
        uow_factory: UowFactory,
        settings: AppSettings,
        store: StoreDep,
        stored_item_id: FromPath[int],
        token: FromQuery[str],
        content_type: FromQuery[str | None] = None,
    ) -> StoredItemAnswer:
        item = await files.upload_with_token(
            uow_factory(),
            store,
            item_id=stored_item_id,
            token=token,
            secret=settings.upload_secret(),
            chunks=_body(request),
            content_type=content_type,
        )
        return await self._answer(uow_factory, item)

    async def _answer(self, uow_factory: UowFactory, item: StoredItem) -> StoredItemAnswer:
        names = await files.data_source_names(uow_factory(), [item])
        return stored_item_of(item, names.get(item.data_source_id))

    @patch(Paths.STORED_ITEMS)
    async def patch_item(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        settings: AppSettings,
        warehouses: WarehousesDep,
        data: JSONBody[StoredItemPatch],
    ) -> StoredItemAnswer:
        item = await files.patch_stored_item(
            uow_factory(),
            warehouses,
            item_id=data.id,
            ignore_file=data.ignore_file,
            default_dsn=settings.warehouse_dsn,
            principal=principal,
        )
        return await self._answer(uow_factory, item)

    @get(Paths.STORED_ITEM)
    async def get_one(
        self, uow_factory: UowFactory, principal: Caller, stored_item_id: FromPath[int]
    ) -> StoredItemAnswer:
        item = await files.get_stored_item(uow_factory(), stored_item_id, principal)
        return await self._answer(uow_factory, item)

    @delete(Paths.STORED_ITEM, status_code=HTTP_200_OK)
    async def delete_one(
        self, uow_factory: UowFactory, principal: Caller, store: StoreDep, stored_item_id: FromPath[int]
    ) -> TextResult:
        return TextResult(
            result=await files.delete_stored_item(uow_factory(), store, stored_item_id, principal)
        )

    @post(Paths.PUBLISH, status_code=HTTP_200_OK)
    async def publish(
        self, uow_factory: UowFactory, principal: Caller, store: StoreDep, stored_item_id: FromPath[int]
    ) -> PublishResult:
        job_id = await files.publish_stored_item(uow_factory(), store, stored_item_id, principal)
        return PublishResult(ingestion_job_id=job_id)


class IngestionJobController(Controller):
    tags = ["ingestion jobs"]
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(Paths.INGESTION_JOBS)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
        settings_model_id: FromQuery[int | None] = None,
        dataset_id: FromQuery[int | None] = None,
        data_source_model_id: FromQuery[int | None] = None,
        job_state: Annotated[str | None, QueryParameter(query="state")] = None,
    ) -> IngestionJobPage:
        if job_state is not None and job_state not in JobState.__members__.values():
            raise ValidationException(f"`state`: one of {', '.join(s.value for s in JobState)}")
        page = await ingestion_jobs.list_ingestion_jobs(
            uow_factory(),
            dataset_id=dataset_id or settings_model_id,
            data_source_id=data_source_model_id,
            state=job_state,
            cursor=cursor,
            principal=principal,
        )
        sources, datasets, keys = await ingestion_jobs.job_context(uow_factory(), page.results)
        return IngestionJobPage(
            next=page.next,
            previous=page.previous,
            results=[ingestion_job_of(j, sources, datasets, keys) for j in page.results],
            filters={
                "settings_model_id": settings_model_id,
                "dataset_id": dataset_id,
                "data_source_model_id": data_source_model_id,
                "state": job_state,
            },
        )

    @get(Paths.INGESTION_JOB)
    async def get_one(
        self, uow_factory: UowFactory, principal: Caller, ingestion_job_id: FromPath[int]
    ) -> IngestionJobAnswer:
        job = await ingestion_jobs.get_ingestion_job(uow_factory(), ingestion_job_id, principal)
        sources, datasets, keys = await ingestion_jobs.job_context(uow_factory(), [job])
        return ingestion_job_of(job, sources, datasets, keys)

    @post(Paths.RUN_INGESTION_JOB, status_code=HTTP_200_OK)
    async def run_now(
        self, uow_factory: UowFactory, principal: Caller, ingestion_job_id: FromPath[int]
    ) -> TextResult:
        return TextResult(
            result=await ingestion_jobs.run_ingestion_job_now(uow_factory(), ingestion_job_id, principal)
        )

    @post(Paths.KILL_INGESTION_JOB, status_code=HTTP_200_OK)
    async def kill(
        self, uow_factory: UowFactory, principal: Caller, ingestion_job_id: FromPath[int]
    ) -> TextResult:
        return TextResult(
            result=await ingestion_jobs.kill_ingestion_job(uow_factory(), ingestion_job_id, principal)
        )


CONTROLLERS: list[Any] = [StoredItemController, IngestionJobController]

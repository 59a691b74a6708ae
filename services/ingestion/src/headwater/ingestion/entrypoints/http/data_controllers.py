"""Internal API of Qluster's data (spec 003): a dataset's rows and bad rows, ignored line signatures, reprocessed
bad rows, the menu's counts and the service's queue messages. Each handler translates the request into one use
case (`service_layer.data`) and its result back; the caller's principal scopes what it sees."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.contracts.qluster_data import (
    BadRowIds,
    DataPage,
    LineSignatures,
    MenuCounts,
    QueueMsg,
    QueueMsgIds,
    QueueMsgPage,
)
from headwater.common.contracts.qluster_metadata import TextResult
from headwater.common.http import CursorQuery, caller, cursor_query
from headwater.ingestion.domain.queue import QueueMessage
from headwater.ingestion.entrypoints.http.deps import AppSettings, Caller, UowFactory, WarehousesDep
from headwater.ingestion.service_layer import data as use_cases


def queue_msg_of(message: QueueMessage) -> QueueMsg:
    return QueueMsg(
        id=message.id,
        enqueued_at=message.created_at,
        dequeued_at=message.sent_at,
        expected_at=None,
        schedule_at=message.created_at,
        q_name=message.topic,
        key=message.key,
        data=message.data(),
        acknowledged=message.acknowledged,
        data_source_model_id=message.data_source_id,
        put_count=1,
        receive_count=1 if message.acknowledged else 0,
        event_type=message.event_type,
        quarantined=message.quarantined,
        reason=message.reason,
    )


class DataController(Controller):
    tags = ["data"]
    dependencies = {"principal": Provide(caller, sync_to_thread=False)}

    @get(Paths.DATA)
    async def rows(
        self,
        dataset_id: FromPath[int],
        uow_factory: UowFactory,
        warehouses: WarehousesDep,
        settings: AppSettings,
        principal: Caller,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
        data_source_model_id: FromQuery[int | None] = None,
        stored_item_id: FromQuery[int | None] = None,
        is_bad_data: FromQuery[bool] = False,
        order_by: FromQuery[list[str] | None] = None,
    ) -> DataPage:
        ordering = order_by or ["~id"]
        dataset, found = await use_cases.get_data(
            uow_factory(),
            warehouses,
            settings.warehouse_dsn,
            dataset_id,
            page=page,
            limit=limit,
            data_source_id=data_source_model_id,
            stored_item_id=stored_item_id,
            is_bad_data=is_bad_data,
            order_by=ordering,
            principal=principal,
        )
        filters: dict[str, Any] = {
            "page": page,
            "limit": limit,
            "data_source_model_id": data_source_model_id,
            "stored_item_id": stored_item_id,
            "is_bad_data": is_bad_data,
            "order_by": ordering,
        }
        return DataPage(
            title=f"Bad rows of {dataset.name}" if is_bad_data else f"Data of {dataset.name}",
            total_page_count=found.total_page_count,
            total_rows=found.total_rows,
            dataset_name=dataset.name,
            fields=found.fields,
            results=found.results,
            filters=filters,
        )

    @post(Paths.IGNORE_LINE_SIGNATURE, status_code=HTTP_200_OK)
    async def ignore_line_signature(
        self,
        dataset_id: FromPath[int],
        uow_factory: UowFactory,
        warehouses: WarehousesDep,
        settings: AppSettings,
        principal: Caller,
        data: JSONBody[LineSignatures],
    ) -> TextResult:
        pairs = [(source, signature) for source, signature in data.data_source_model_to_line_signatures]
        added, dropped = await use_cases.ignore_line_signatures(
            uow_factory(), warehouses, settings.warehouse_dsn, dataset_id, pairs, principal
        )
        return TextResult(
            result=f"{added} line signature(s) added to those ignored for dataset {dataset_id} ("
            f"{len(set(pairs)) - added} already were); {dropped} bad row(s) dropped"
        )

    @post(Paths.REPROCESS_BAD_ROWS, status_code=HTTP_200_OK)
    async def reprocess_bad_rows(
        self,
        dataset_id: FromPath[int],
        uow_factory: UowFactory,
        warehouses: WarehousesDep,
        settings: AppSettings,
        principal: Caller,
        data: JSONBody[BadRowIds],
    ) -> TextResult:
        report = await use_cases.reprocess(
            uow_factory(), warehouses, settings.warehouse_dsn, dataset_id, data.ids, principal
        )
        return TextResult(
            result=f"{report.checked} bad row(s) of dataset {dataset_id} checked: {report.moved} moved into "
            f"the table, {report.still_bad} still bad"
        )


class MenuController(Controller):
    tags = ["menu"]
    dependencies = {"principal": Provide(caller, sync_to_thread=False)}

    @get(Paths.MENU_STATS)
    async def menu_stats(self, uow_factory: UowFactory, principal: Caller) -> MenuCounts:
        counts = await use_cases.menu_counts(uow_factory(), principal)
        return MenuCounts(
            datasets_count=counts.datasets_count,
            data_source_models_count=counts.data_source_models_count,
            destinations_count=counts.destinations_count,
        )


class QueueController(Controller):
    tags = ["queue messages"]
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(Paths.QUEUE_MSGS)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
        acknowledged: FromQuery[bool | None] = None,
        q_name: FromQuery[str | None] = None,
        data_source_model_id: FromQuery[int | None] = None,
    ) -> QueueMsgPage:
        page = await use_cases.list_queue_messages(
            uow_factory(),
            acknowledged=acknowledged,
            q_name=q_name,
            data_source_id=data_source_model_id,
            cursor=cursor,
            principal=principal,
        )
        return QueueMsgPage(
            next=page.next,
            previous=page.previous,
            results=[queue_msg_of(r) for r in page.results],
            filters={
                "acknowledged": acknowledged,
                "q_name": q_name,
                "data_source_model_id": data_source_model_id,
            },
            title="Queue Messages",
        )

    @get(Paths.QUEUE_MSG)
    async def get_one(self, msg_id: FromPath[int], uow_factory: UowFactory, principal: Caller) -> QueueMsg:
        return queue_msg_of(await use_cases.get_queue_message(uow_factory(), msg_id, principal))

    @post(Paths.RESCHEDULE_QUEUE_MSGS, status_code=HTTP_200_OK)
    async def reschedule(
        self, uow_factory: UowFactory, principal: Caller, data: JSONBody[QueueMsgIds]
    ) -> TextResult:
        done = await use_cases.reschedule_queue_messages(uow_factory(), data.ids, principal)
        return TextResult(
            result=f"{len(done.from_quarantine)} quarantined message(s) put back in the queue (new ids: "
            f"{sorted(done.from_quarantine.values())}), {len(done.sent_again)} sent message(s) to be sent again, "
            f"{len(done.already_waiting)} already waiting to be sent"
        )


CONTROLLERS: list[Any] = [DataController, MenuController, QueueController]

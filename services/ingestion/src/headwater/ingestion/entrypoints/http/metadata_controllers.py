"""Internal API of Qluster's metadata (spec 003): datasets, destinations, data sources and
per-field validation info. Each handler translates the request into one use case and its result back; the
caller's principal scopes what it sees (see `service_layer.metadata`)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.contracts.qluster import Page
from headwater.common.contracts.qluster_metadata import (
    DATA_SOURCE_FIELDS,
    DATA_SOURCE_SECRETS,
    VALIDATION_MODEL_HEADER,
    BooleanResult,
    ConfirmDelete,
    Dataset,
    DatasetExtraDetails,
    DatasetHistory,
    DatasetPage,
    DatasetPatch,
    DatasetPost,
    DatasetStats,
    DataSourcePatch,
    DataSourcePost,
    DataSourceTiny,
    Destination,
    DestinationPage,
    DestinationPatch,
    DestinationPost,
    FieldValidation,
    TextResult,
)
from headwater.common.contracts.types import storable
from headwater.common.http import CursorQuery, caller, cursor_query
from headwater.ingestion.domain import metadata as m
from headwater.ingestion.entrypoints.http.deps import Caller, UowFactory
from headwater.ingestion.service_layer import metadata


def _given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a request sent (those left UNSET are not part of the change)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


def _states(states: list[str] | None, default: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    chosen = tuple(states) if states else default
    if unknown := [s for s in chosen if s not in allowed]:
        raise ValidationException(f"`states`: unknown state {unknown[0]!r}; one of {', '.join(allowed)}")
    return chosen


def dataset_of(row: m.Stored, *, copy: bool = False) -> Dataset:
    body = m.with_settings_model(
        row.body, row.id, int(dict(row.body.get("settings_model") or {}).get("version_id", 0))
    )
    fields: dict[str, Any] = m.DATASET_TEMPLATE | body
    fields |= {"id": row.id, "version_id": row.version_id, "state": row.state}
    fields["name"] = row.name
    fields["destination_id"] = row.parent_id
    if copy:  # a configuration to post again: not a dataset yet
        fields |= {"id": 0, "version_id": 0, "name": f"Copy of {row.name}", "state": "active"}
        fields["settings_model"] = fields["settings_model"] | {"id": 0, "version_id": 0}
    return msgspec.convert(fields, Dataset)


def destination_of(row: m.Stored) -> Destination:
    body = m.obfuscated(m.DESTINATION_TEMPLATE | row.body, m.DESTINATION_SECRETS)
    return msgspec.convert(
        body | {"id": row.id, "name": row.name, "created_at": row.created_at, "updated_at": row.updated_at},
        Destination,
    )


def data_source_of(row: m.Stored) -> dict[str, Any]:
    body = m.obfuscated(m.data_source_template(DATA_SOURCE_FIELDS) | row.body, DATA_SOURCE_SECRETS)
    return body | {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at,
        "dataset_id": row.parent_id,
        "settings_model_id": row.parent_id,
        "version_id": row.version_id,
        "state": row.state,
    }


class DatasetController(Controller):
    tags = ["datasets"]
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(Paths.DATASETS)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
        states: FromQuery[list[str] | None] = None,
        destination_id: FromQuery[int | None] = None,
    ) -> DatasetPage:
        chosen = _states(states, metadata.DATASET_STATES, ("active", "disabled", "deleted"))
        page = await metadata.list_datasets(
            uow_factory(),
            states=chosen,
            destination_id=destination_id,
            cursor=cursor,
            principal=principal,
        )
        filters: dict[str, Any] = {"states": list(chosen), "destination_id": destination_id}
        return DatasetPage(
            next=page.next,
            previous=page.previous,
            results=[dataset_of(r) for r in page.results],
            filters=filters,
        )

    @post(Paths.DATASETS, status_code=HTTP_200_OK)
    async def create(
        self, uow_factory: UowFactory, principal: Caller, data: JSONBody[DatasetPost]
    ) -> Dataset:
        return dataset_of(await metadata.create_dataset(uow_factory(), _given(data), principal))

    @patch(Paths.DATASETS)
    async def change(
        self, uow_factory: UowFactory, principal: Caller, data: JSONBody[DatasetPatch]
    ) -> Dataset:
        changes = _given(data)
        dataset_id, version_id = changes.pop("id"), changes.pop("version_id")
        return dataset_of(
            await metadata.patch_dataset(uow_factory(), dataset_id, version_id, changes, principal)
        )

    @get(Paths.NEW_DATASET)
    async def new(self) -> Dataset:
        return msgspec.convert(
            metadata.new_dataset() | {"id": 0, "version_id": 0, "state": "active"}, Dataset
        )

    @get(Paths.DATASET)
    async def get_one(self, dataset_id: FromPath[int], uow_factory: UowFactory, principal: Caller) -> Dataset:
        return dataset_of(await metadata.get_dataset(uow_factory(), dataset_id, principal))

    @get(Paths.DATASET_HISTORY)
    async def history(
        self, dataset_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> DatasetHistory:
        datasets, settings = await metadata.dataset_history(uow_factory(), dataset_id, principal)
        return DatasetHistory(dataset_history=datasets, settings_model_history=settings)

    @get(Paths.DATASET_STATS)
    async def stats(
        self, dataset_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> DatasetStats:
        row = await metadata.get_dataset(uow_factory(), dataset_id, principal)
        return DatasetStats(bad_rows_count=int(row.body.get("bad_rows_count") or 0))

    @get(Paths.DATASET_COPY)
    async def copy_template(
        self, dataset_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> Dataset:
        return dataset_of(await metadata.get_dataset(uow_factory(), dataset_id, principal), copy=True)

    @post(Paths.DATASET_COPY, status_code=HTTP_200_OK)
    async def copy(
        self,
        dataset_id: FromPath[int],
        uow_factory: UowFactory,
        principal: Caller,
        data: JSONBody[DatasetPost],
    ) -> Dataset:
        return dataset_of(await metadata.copy_dataset(uow_factory(), dataset_id, _given(data), principal))

    @get(Paths.DATASET_EXTRA_DETAILS)
    async def extra_details(
        self, dataset_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> DatasetExtraDetails:
        row = await metadata.get_dataset(uow_factory(), dataset_id, principal)
        names = await metadata.destination_names(uow_factory(), [row])
        return msgspec.convert(
            msgspec.structs.asdict(dataset_of(row))
            | {
                # No migration model or training job exists yet; alerts of datasets are quality-alerting's,
                # which raises none for a dataset yet.
                "current_migration_model_id": None,
                "destination_name": names.get(row.parent_id) if row.parent_id else None,
                "unresolved_alerts": 0,
            },
            DatasetExtraDetails,
        )

    @get(Paths.DATASET_TRAINING_JOB_RUNNING)
    async def any_training_job_running(
        self, dataset_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> BooleanResult:
        await metadata.get_dataset(uow_factory(), dataset_id, principal)
        return BooleanResult(result=False)  # Headwater runs no training jobs

    @delete(Paths.DATASET, status_code=HTTP_200_OK)
    async def remove(
        self,
        dataset_id: FromPath[int],
        uow_factory: UowFactory,
        principal: Caller,
        data: JSONBody[ConfirmDelete],
    ) -> TextResult:
        return TextResult(
            result=await metadata.delete_dataset(uow_factory(), dataset_id, data.name, principal)
        )

    @get(Paths.FIELD_VALIDATION)
    async def field_validation(
        self, dataset_id: FromPath[int], field_name: FromPath[str], uow_factory: UowFactory, principal: Caller
    ) -> FieldValidation:
        rules = await metadata.field_validation(uow_factory(), dataset_id, _field(field_name), principal)
        return msgspec.convert(rules, FieldValidation)

    @post(Paths.FIELD_VALIDATION, status_code=HTTP_200_OK)
    async def update_field_validation(
        self,
        dataset_id: FromPath[int],
        field_name: FromPath[str],
        uow_factory: UowFactory,
        principal: Caller,
        data: JSONBody[FieldValidation],
    ) -> TextResult:
        rules = msgspec.to_builtins(data)
        result = await metadata.update_field_validation(
            uow_factory(), dataset_id, _field(field_name), rules, principal
        )
        return TextResult(result=result)


def _field(field_name: str) -> str:
    if not field_name.strip() or not storable(field_name, 255):
        raise ValidationException(
            "`field_name`: a field name of at most 255 characters, without NUL characters"
        )
    return field_name


class DestinationController(Controller):
    tags = ["destinations"]
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(Paths.DESTINATIONS)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
    ) -> DestinationPage:
        page = await metadata.list_destinations(uow_factory(), cursor=cursor, principal=principal)
        return DestinationPage(
            next=page.next,
            previous=page.previous,
            results=[destination_of(r) for r in page.results],
            filters={},
        )

    @post(Paths.DESTINATIONS, status_code=HTTP_200_OK)
    async def create(
        self, uow_factory: UowFactory, principal: Caller, data: JSONBody[DestinationPost]
    ) -> Destination:
        return destination_of(await metadata.create_destination(uow_factory(), _given(data), principal))

    @patch(Paths.DESTINATIONS)
    async def change(
        self, uow_factory: UowFactory, principal: Caller, data: JSONBody[DestinationPatch]
    ) -> Destination:
        changes = _given(data)
        destination_id = changes.pop("id")
        return destination_of(
            await metadata.patch_destination(uow_factory(), destination_id, changes, principal)
        )

    @get(Paths.NEW_DESTINATION)
    async def new(self) -> Destination:
        return msgspec.convert(
            metadata.new_destination() | {"id": 0, "created_at": None, "updated_at": None}, Destination
        )

    @get(Paths.DESTINATION)
    async def get_one(
        self, destination_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> Destination:
        return destination_of(await metadata.get_destination(uow_factory(), destination_id, principal))


class DataSourceController(Controller):
    tags = ["data sources"]
    dependencies = {
        "principal": Provide(caller, sync_to_thread=False),
        "cursor": Provide(cursor_query, sync_to_thread=False),
    }

    @get(Paths.DATA_SOURCES)
    async def list_page(
        self,
        uow_factory: UowFactory,
        principal: Caller,
        cursor: CursorQuery,
        dataset_id: FromQuery[int | None] = None,
        states: FromQuery[list[str] | None] = None,
    ) -> Page:
        chosen = _states(states, metadata.DATA_SOURCE_STATES, ("active", "draft", "disabled", "deleted"))
        page = await metadata.list_data_sources(
            uow_factory(),
            dataset_id=dataset_id,
            states=chosen,
            cursor=cursor,
            principal=principal,
        )
        return Page(
            next=page.next,
            previous=page.previous,
            results=[data_source_of(r) for r in page.results],
            filters={"dataset_id": dataset_id, "states": list(chosen)},
            title="Data Sources",
        )

    @post(Paths.DATA_SOURCES, status_code=HTTP_200_OK)
    async def create(
        self, uow_factory: UowFactory, principal: Caller, data: JSONBody[DataSourcePost]
    ) -> dict[str, Any]:
        row = await metadata.create_data_source(uow_factory(), _given(data), DATA_SOURCE_FIELDS, principal)
        return data_source_of(row)

    @patch(Paths.DATA_SOURCE)
    async def change(
        self,
        data_source_model_id: FromPath[int],
        uow_factory: UowFactory,
        principal: Caller,
        data: JSONBody[DataSourcePatch],
    ) -> dict[str, Any]:
        changes = _given(data)
        if changes.pop("id") != data_source_model_id:
            raise ValidationException("`id` of the body is not the data source of the path")
        version_id = changes.pop("version_id")
        row = await metadata.patch_data_source(
            uow_factory(), data_source_model_id, version_id, changes, DATA_SOURCE_SECRETS, principal
        )
        return data_source_of(row)

    @get(Paths.DATA_SOURCE)
    async def get_one(
        self, data_source_model_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> dict[str, Any]:
        return data_source_of(await metadata.get_data_source(uow_factory(), data_source_model_id, principal))

    @get(Paths.DATA_SOURCE_TINY)
    async def tiny(
        self, data_source_model_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> DataSourceTiny:
        row, destination_name = await metadata.data_source_tiny(
            uow_factory(), data_source_model_id, principal
        )
        return DataSourceTiny(
            id=row.id,
            last_sync=None,  # no file of it has been ingested yet: ingestion runs are the engine's
            destination_name=destination_name,
            dataset_id=str(row.parent_id),
            unresolved_alerts=0,
            state=row.state,
        )

    @get(Paths.DATA_SOURCE_HISTORY)
    async def history(
        self, data_source_model_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> list[dict[str, Any]]:
        entries = await metadata.data_source_history(uow_factory(), data_source_model_id, principal)
        return [m.obfuscated(e, DATA_SOURCE_SECRETS) for e in entries]

    @get(Paths.NEW_DATA_SOURCE)
    async def new(
        self, dataset_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> dict[str, Any]:
        template = await metadata.new_data_source(uow_factory(), dataset_id, DATA_SOURCE_FIELDS, principal)
        return template | {"id": 0, "version_id": 0, "created_at": None}

    @get(Paths.DATA_SOURCE_COPY_FOR_DATASET)
    async def copy_template(
        self,
        dataset_id: FromPath[int],
        data_source_model_id: FromPath[int],
        uow_factory: UowFactory,
        principal: Caller,
    ) -> dict[str, Any]:
        body = await metadata.data_source_copy(uow_factory(), dataset_id, data_source_model_id, principal)
        return m.obfuscated(body, DATA_SOURCE_SECRETS) | {"id": 0, "version_id": 0, "created_at": None}

    @post(Paths.DATA_SOURCE_COPY, status_code=HTTP_200_OK)
    async def copy(
        self,
        data_source_model_id: FromPath[int],
        uow_factory: UowFactory,
        principal: Caller,
        data: JSONBody[DataSourcePost],
    ) -> dict[str, Any]:
        fields = {
            k: v
            for k, v in _given(data).items()
            if not (k in DATA_SOURCE_SECRETS and v == m.OBFUSCATED)  # the copy keeps the original's secrets
        }
        row = await metadata.create_data_source(
            uow_factory(), fields, DATA_SOURCE_FIELDS, principal, copy_of=data_source_model_id
        )
        return data_source_of(row)

    @delete(Paths.DATA_SOURCE, status_code=HTTP_200_OK)
    async def remove(
        self,
        data_source_model_id: FromPath[int],
        uow_factory: UowFactory,
        principal: Caller,
        data: JSONBody[ConfirmDelete],
    ) -> TextResult:
        result = await metadata.delete_data_source(uow_factory(), data_source_model_id, data.name, principal)
        return TextResult(result=result)

    @get(Paths.DATA_SOURCE_VALIDATION_MODEL)
    async def validation_model(
        self, data_source_model_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> list[list[Any]]:
        return await metadata.data_source_validation_model(
            uow_factory(), data_source_model_id, VALIDATION_MODEL_HEADER, principal
        )


CONTROLLERS: list[Any] = [
    DatasetController,
    DestinationController,
    DataSourceController,
]

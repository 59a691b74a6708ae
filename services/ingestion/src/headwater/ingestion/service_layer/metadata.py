"""Use cases of ingestion's metadata (Qluster spec 003): datasets, destinations, data sources and
per-field validation info. Each change of a dataset, destination or data source is appended to its history in
the transaction that makes it.

A `limited_to_source` caller sees only its data sources (and the datasets and destinations that hold them, read
only); anything else answers 404 like a missing record, and writes beyond its data sources are refused (403).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from headwater.common import paging
from headwater.common.errors import Conflict, Invalid, NotFound, UseCaseError
from headwater.common.logging import get_logger
from headwater.common.paging import FIRST_PAGE, Cursor
from headwater.common.principal import SYSTEM, Principal
from headwater.ingestion.domain import metadata as m
from headwater.ingestion.domain.metadata import Filter, Page, Stored
from headwater.ingestion.service_layer.ports import Documents
from headwater.ingestion.service_layer.sensor_changes import publish_sensor_change
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

CHANGES = Counter(
    "headwater_ingestion_metadata_changes_total",
    "Datasets, destinations and data sources created, updated or deleted",
    ["kind", "change"],
)
STALE_WRITES = Counter(
    "headwater_ingestion_stale_writes_total",
    "Writes refused because the record changed since the client read it (409)",
    ["kind"],
)
# No label: modules and error names are the reporters' free text.

DATASET_STATES = ("active", "disabled")  # what Get Datasets lists by default
DATA_SOURCE_STATES = ("active", "disabled", "draft")  # what Get Data Sources lists by default


class Forbidden(UseCaseError):
    status = 403


LIMITED_WRITE = "limited_to_source users may only change the data sources they are granted"


def _writer(principal: Principal) -> str:
    return principal.username or principal.subject


def _refuse_limited(principal: Principal) -> None:
    if principal.limited_to_sources:
        raise Forbidden(LIMITED_WRITE)


async def cursor_page(walk: Any, matching: Any, cursor: Cursor) -> Page:
    """One page of a listing a repository walks by id under `matching` (spec 003's cursor pagination)."""

    async def by_id(from_id: int | None, ascending: bool, limit: int) -> list[Any]:
        return await walk(matching, from_id=from_id, ascending=ascending, limit=limit)

    return await paging.cursor_page(by_id, cursor)


async def _found(
    documents: Documents, kind: str, entity_id: int, principal: Principal, *, lock: bool = False
) -> Stored:
    row = await documents.get(entity_id, principal.visible_data_sources, lock=lock)
    if row is None or row.state == "deleted":
        raise NotFound(f"{kind} {entity_id} not found")
    return row


def _check_version(kind: str, row: Stored, version_id: int) -> None:
    if version_id != row.version_id:
        STALE_WRITES.labels(kind).inc()
        raise Conflict(
            f"{kind} {row.id} changed since it was read: version_id {version_id} is stale, it is at "
            f"version {row.version_id}; read it again and apply the change to the new version"
        )


# -- datasets ----------------------------------------------------------------------------------------------------


def new_dataset() -> dict[str, Any]:
    return dict(m.DATASET_TEMPLATE)


async def list_datasets(
    uow: UnitOfWork,
    *,
    states: Sequence[str] = DATASET_STATES,
    destination_id: int | None = None,
    cursor: Cursor = FIRST_PAGE,
    principal: Principal = SYSTEM,
) -> Page:
    matching = Filter(
        states=tuple(states), parent_id=destination_id, data_sources=principal.visible_data_sources
    )
    async with uow:
        return await cursor_page(uow.datasets.walk, matching, cursor=cursor)


async def _check_destination(uow: UnitOfWork, destination_id: int | None) -> None:
    if destination_id is not None and await uow.destinations.get(destination_id) is None:
        raise Invalid(f"destination_id {destination_id}: no such destination")


async def create_dataset(uow: UnitOfWork, fields: dict[str, Any], principal: Principal = SYSTEM) -> Stored:
    """Post Dataset: the template with the fields given; its settings model starts at version 0."""
    _refuse_limited(principal)
    body: dict[str, Any] = m.DATASET_TEMPLATE | {
        k: v for k, v in fields.items() if k not in m.DATASET_READ_ONLY
    }
    body["settings_model"] = m.with_settings_model(body, 0, 0)["settings_model"]
    async with uow:
        await _check_destination(uow, body["destination_id"])
        row = await uow.datasets.add(
            state="active",
            name=body["name"],
            parent_id=body["destination_id"],
            body=body,
            by=_writer(principal),
        )
        await uow.commit()
        CHANGES.labels("dataset", "created").inc()
    log.info("dataset_created", dataset_id=row.id)
    return row


async def copy_dataset(
    uow: UnitOfWork, dataset_id: int, fields: dict[str, Any], principal: Principal = SYSTEM
) -> Stored:
    """Post Dataset Copy: a new dataset with the configuration of `dataset_id` (settings model and per-field
    validation rules included), overridden by the fields given."""
    _refuse_limited(principal)
    async with uow:
        source = await _found(uow.datasets, "dataset", dataset_id, principal)
        rules = await uow.field_validations.of_dataset(dataset_id)
        body: dict[str, Any] = source.body | {k: v for k, v in fields.items() if k not in m.DATASET_READ_ONLY}
        body = m.with_settings_model(body, 0, 0) | {"successful_rows_count": 0, "bad_rows_count": 0}
        await _check_destination(uow, body.get("destination_id"))
        row = await uow.datasets.add(
            state="active",
            name=body["name"],
            parent_id=body.get("destination_id"),
            body=body,
            by=_writer(principal),
        )
        for field_name, field_rules in rules.items():
            await uow.field_validations.put(row.id, field_name, field_rules)
        await uow.commit()
        CHANGES.labels("dataset", "created").inc()
    return row


async def patch_dataset(
    uow: UnitOfWork, dataset_id: int, version_id: int, changes: dict[str, Any], principal: Principal = SYSTEM
) -> Stored:
    """Patch Dataset: the fields given change; `settings_model` changes are merged into the settings model,
    whose own `version_id` (when sent) must be current too."""
    _refuse_limited(principal)
    async with uow:
        row = await _found(uow.datasets, "dataset", dataset_id, principal, lock=True)
        _check_version("dataset", row, version_id)
        settings: dict[str, Any] = dict(row.body.get("settings_model") or {})
        settings_version = int(settings.get("version_id", 0))
        changes = {k: v for k, v in changes.items() if k not in m.DATASET_READ_ONLY}
        if "settings_model" in changes:
            sent = dict(changes.pop("settings_model") or {})
            sent_version = sent.pop("version_id", None)
            sent.pop("id", None)
            if sent_version is not None and sent_version != settings_version:
                raise Conflict(
                    f"the settings model of dataset {dataset_id} changed since it was read: version_id "
                    f"{sent_version} is stale, it is at version {settings_version}"
                )
            if sent:
                settings = settings | sent | {"version_id": settings_version + 1}
        body: dict[str, Any] = m.merged(row.body, changes) | {"settings_model": settings}
        updated = await uow.datasets.replace(
            row, state=row.state, name=body["name"], parent_id=row.parent_id, body=body, by=_writer(principal)
        )
        await uow.commit()
        CHANGES.labels("dataset", "updated").inc()
    return updated


async def get_dataset(uow: UnitOfWork, dataset_id: int, principal: Principal = SYSTEM) -> Stored:
    async with uow:
        return await _found(uow.datasets, "dataset", dataset_id, principal)


async def dataset_history(
    uow: UnitOfWork, dataset_id: int, principal: Principal = SYSTEM
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every version of the dataset and, once per version of it, of its settings model; oldest first."""
    async with uow:
        await _found(uow.datasets, "dataset", dataset_id, principal)
        entries = await uow.datasets.history(dataset_id)
    datasets: list[dict[str, Any]] = []
    settings: list[dict[str, Any]] = []
    seen: set[int] = set()
    for e in entries:
        snapshot = {k: v for k, v in e.body.items() if k != "settings_model"}
        datasets.append(
            snapshot
            | {"id": e.entity_id, "version_id": e.version_id, "state": e.state, "change": e.change}
            | {"changed_at": e.changed_at.isoformat(), "changed_by": e.changed_by}
        )
        model = dict(e.body.get("settings_model") or {})
        version = int(model.get("version_id", 0))
        if version not in seen:
            seen.add(version)
            settings.append(model | {"id": dataset_id, "changed_at": e.changed_at.isoformat()})
    return datasets, settings


async def delete_dataset(uow: UnitOfWork, dataset_id: int, name: str, principal: Principal = SYSTEM) -> str:
    """Delete Dataset: `name` must be the dataset's (a confirmation); it and its data sources become
    `deleted` (kept, with their history)."""
    _refuse_limited(principal)
    async with uow:
        row = await _found(uow.datasets, "dataset", dataset_id, principal, lock=True)
        if name != row.name:
            raise Invalid(f"name {name!r} is not the name of dataset {dataset_id}: send its name to confirm")
        await uow.datasets.replace(
            row,
            state="deleted",
            name=row.name,
            parent_id=row.parent_id,
            body=row.body,
            by=_writer(principal),
            change="deleted",
        )
        sources = await uow.data_sources.walk(
            Filter(states=DATA_SOURCE_STATES, parent_id=dataset_id),
            from_id=None,
            ascending=True,
            limit=100_000,
        )
        for source in sources:
            locked = await uow.data_sources.get(source.id, lock=True)
            if locked is not None:
                deleted = await uow.data_sources.replace(
                    locked,
                    state="deleted",
                    name=locked.name,
                    parent_id=locked.parent_id,
                    body=locked.body | {"state": "deleted"},
                    by=_writer(principal),
                    change="deleted",
                )
                await publish_sensor_change(uow, deleted)
        await uow.commit()
        CHANGES.labels("dataset", "deleted").inc()
    return f"dataset {dataset_id} deleted"


async def destination_names(uow: UnitOfWork, rows: Sequence[Stored]) -> dict[int, str | None]:
    ids = [r.parent_id for r in rows if r.parent_id is not None]
    async with uow:
        return await uow.destinations.names(ids) if ids else {}


# -- destinations ------------------------------------------------------------------------------------------------


def new_destination() -> dict[str, Any]:
    return dict(m.DESTINATION_TEMPLATE)


async def list_destinations(
    uow: UnitOfWork,
    *,
    cursor: Cursor = FIRST_PAGE,
    principal: Principal = SYSTEM,
) -> Page:
    matching = Filter(data_sources=principal.visible_data_sources)
    async with uow:
        return await cursor_page(uow.destinations.walk, matching, cursor=cursor)


async def create_destination(
    uow: UnitOfWork, fields: dict[str, Any], principal: Principal = SYSTEM
) -> Stored:
    _refuse_limited(principal)
    body: dict[str, Any] = m.DESTINATION_TEMPLATE | fields
    async with uow:
        row = await uow.destinations.add(
            state="active", name=body["name"], parent_id=None, body=body, by=_writer(principal)
        )
        await uow.commit()
        CHANGES.labels("destination", "created").inc()
    return row


async def patch_destination(
    uow: UnitOfWork, destination_id: int, changes: dict[str, Any], principal: Principal = SYSTEM
) -> Stored:
    """Patch Destination Model: the fields given change; a password sent back obfuscated is kept."""
    _refuse_limited(principal)
    async with uow:
        row = await _found(uow.destinations, "destination", destination_id, principal, lock=True)
        body = m.merged(row.body, changes, m.DESTINATION_SECRETS)
        updated = await uow.destinations.replace(
            row, state=row.state, name=body["name"], parent_id=None, body=body, by=_writer(principal)
        )
        await uow.commit()
        CHANGES.labels("destination", "updated").inc()
    return updated


async def get_destination(uow: UnitOfWork, destination_id: int, principal: Principal = SYSTEM) -> Stored:
    async with uow:
        return await _found(uow.destinations, "destination", destination_id, principal)


# -- data sources ------------------------------------------------------------------------------------------------


async def list_data_sources(
    uow: UnitOfWork,
    *,
    dataset_id: int | None = None,
    states: Sequence[str] = DATA_SOURCE_STATES,
    cursor: Cursor = FIRST_PAGE,
    principal: Principal = SYSTEM,
) -> Page:
    matching = Filter(states=tuple(states), parent_id=dataset_id, data_sources=principal.visible_data_sources)
    async with uow:
        return await cursor_page(uow.data_sources.walk, matching, cursor=cursor)


async def new_data_source(
    uow: UnitOfWork, dataset_id: int, field_names: tuple[str, ...], principal: Principal = SYSTEM
) -> dict[str, Any]:
    """Get New Data Source For Dataset: the template, bound to the dataset and its settings model."""
    async with uow:
        dataset = await _found(uow.datasets, "dataset", dataset_id, principal)
    return m.data_source_template(field_names) | {
        "dataset_id": dataset.id,
        "dataset_name": dataset.name,
        "settings_model_id": dataset.id,
    }


async def data_source_copy(
    uow: UnitOfWork, dataset_id: int, data_source_id: int, principal: Principal = SYSTEM
) -> dict[str, Any]:
    """Get A Data Source Copy For Dataset: the data source's settings, ready to be posted for `dataset_id`."""
    async with uow:
        dataset = await _found(uow.datasets, "dataset", dataset_id, principal)
        source = await _found(uow.data_sources, "data source", data_source_id, principal)
    return source.body | {
        "name": f"Copy of {source.name}",
        "dataset_id": dataset.id,
        "dataset_name": dataset.name,
        "settings_model_id": dataset.id,
        "state": "draft",
        "bad_rows_count": 0,
    }


async def _dataset_of(uow: UnitOfWork, fields: dict[str, Any]) -> Stored:
    """The dataset a data source belongs to: `dataset_id`, or the dataset of `settings_model_id` (1:1)."""
    settings_model_id = fields.get("settings_model_id")
    dataset_id = fields.get("dataset_id") or settings_model_id
    if dataset_id is None:
        raise Invalid("settings_model_id: required (the settings model of the dataset the data source feeds)")
    if settings_model_id is not None and settings_model_id != dataset_id:
        raise Invalid(
            f"settings_model_id {settings_model_id} is not the settings model of dataset {dataset_id}"
        )
    dataset = await uow.datasets.get(int(dataset_id))
    if dataset is None or dataset.state == "deleted":
        raise Invalid(f"dataset_id {dataset_id}: no such dataset")
    return dataset


async def create_data_source(
    uow: UnitOfWork,
    fields: dict[str, Any],
    field_names: tuple[str, ...],
    principal: Principal = SYSTEM,
    *,
    copy_of: int | None = None,
) -> Stored:
    """Post Data Source Model (or, with `copy_of`, Post Copy Data Source Model: that data source's settings
    overridden by the fields given)."""
    _refuse_limited(principal)
    async with uow:
        base: dict[str, Any] = m.data_source_template(field_names)
        if copy_of is not None:
            source = await _found(uow.data_sources, "data source", copy_of, principal)
            base = base | source.body | {"bad_rows_count": 0}
        dataset = await _dataset_of(uow, fields)
        body: dict[str, Any] = (
            base
            | fields
            | {"dataset_id": dataset.id, "dataset_name": dataset.name, "settings_model_id": dataset.id}
        )
        row = await uow.data_sources.add(
            state=body["state"], name=body["name"], parent_id=dataset.id, body=body, by=_writer(principal)
        )
        await publish_sensor_change(uow, row)
        await uow.commit()
        CHANGES.labels("data_source", "created").inc()
    log.info("data_source_created", data_source_id=row.id, dataset_id=dataset.id)
    return row


async def patch_data_source(
    uow: UnitOfWork,
    data_source_id: int,
    version_id: int,
    changes: dict[str, Any],
    secrets: tuple[str, ...],
    principal: Principal = SYSTEM,
) -> Stored:
    """Patch Data Source Model: the fields given change (a limited caller may patch its own data sources);
    secrets sent back obfuscated are kept; moving it to another dataset moves its settings model with it."""
    async with uow:
        row = await _found(uow.data_sources, "data source", data_source_id, principal, lock=True)
        _check_version("data source", row, version_id)
        dataset_id = row.parent_id
        if "dataset_id" in changes or "settings_model_id" in changes:
            if principal.limited_to_sources:
                raise Forbidden("limited_to_source users may not move a data source to another dataset")
            dataset = await _dataset_of(
                uow,
                {
                    "dataset_id": changes.get("dataset_id"),
                    "settings_model_id": changes.get("settings_model_id"),
                },
            )
            dataset_id = dataset.id
            changes = changes | {
                "dataset_id": dataset.id,
                "dataset_name": dataset.name,
                "settings_model_id": dataset.id,
            }
        body = m.merged(row.body, changes, secrets)
        updated = await uow.data_sources.replace(
            row,
            state=body["state"],
            name=body["name"],
            parent_id=dataset_id,
            body=body,
            by=_writer(principal),
        )
        await publish_sensor_change(uow, updated)
        await uow.commit()
        CHANGES.labels("data_source", "updated").inc()
    return updated


async def get_data_source(uow: UnitOfWork, data_source_id: int, principal: Principal = SYSTEM) -> Stored:
    async with uow:
        return await _found(uow.data_sources, "data source", data_source_id, principal)


async def data_source_tiny(
    uow: UnitOfWork, data_source_id: int, principal: Principal = SYSTEM
) -> tuple[Stored, str | None]:
    """The data source and the name of its dataset's destination."""
    async with uow:
        source = await _found(uow.data_sources, "data source", data_source_id, principal)
        dataset = await uow.datasets.get(source.parent_id or 0)
        names = await uow.destinations.names([dataset.parent_id]) if dataset and dataset.parent_id else {}
    return source, names.get(dataset.parent_id) if dataset and dataset.parent_id else None


async def data_source_history(
    uow: UnitOfWork, data_source_id: int, principal: Principal = SYSTEM
) -> list[dict[str, Any]]:
    async with uow:
        await _found(uow.data_sources, "data source", data_source_id, principal)
        entries = await uow.data_sources.history(data_source_id)
    return [
        e.body
        | {"id": e.entity_id, "version_id": e.version_id, "state": e.state, "change": e.change}
        | {"changed_at": e.changed_at.isoformat(), "changed_by": e.changed_by}
        for e in entries
    ]


async def delete_data_source(
    uow: UnitOfWork, data_source_id: int, name: str, principal: Principal = SYSTEM
) -> str:
    _refuse_limited(principal)
    async with uow:
        row = await _found(uow.data_sources, "data source", data_source_id, principal, lock=True)
        if name != row.name:
            raise Invalid(
                f"name {name!r} is not the name of data source {data_source_id}: send its name to confirm"
            )
        deleted = await uow.data_sources.replace(
            row,
            state="deleted",
            name=row.name,
            parent_id=row.parent_id,
            body=row.body | {"state": "deleted"},
            by=_writer(principal),
            change="deleted",
        )
        await publish_sensor_change(uow, deleted)
        await uow.commit()
        CHANGES.labels("data_source", "deleted").inc()
    return f"data source {data_source_id} deleted"


# -- validation info ---------------------------------------------------------------------------------------------

DB_TYPES = {
    "string": "text",
    "email": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "array": "jsonb",
    "object": "jsonb",
}


async def field_validation(
    uow: UnitOfWork, dataset_id: int, field_name: str, principal: Principal = SYSTEM
) -> dict[str, Any]:
    async with uow:
        await _found(uow.datasets, "dataset", dataset_id, principal)
        rules = await uow.field_validations.get(dataset_id, field_name)
    if rules is None:
        raise NotFound(f"dataset {dataset_id} has no validation info for the field {field_name!r}")
    return rules


async def update_field_validation(
    uow: UnitOfWork, dataset_id: int, field_name: str, rules: dict[str, Any], principal: Principal = SYSTEM
) -> str:
    _refuse_limited(principal)
    async with uow:
        await _found(uow.datasets, "dataset", dataset_id, principal, lock=True)
        await uow.field_validations.put(dataset_id, field_name, rules)
        await uow.commit()
    return f"validation info of the field {field_name!r} of dataset {dataset_id} updated"


async def data_source_validation_model(
    uow: UnitOfWork, data_source_id: int, header: list[str], principal: Principal = SYSTEM
) -> list[list[Any]]:
    """Get Data Source Validation Model: a header row, then one row per included field of its dataset."""
    async with uow:
        source = await _found(uow.data_sources, "data source", data_source_id, principal)
        rules = await uow.field_validations.of_dataset(source.parent_id or 0)
    rows: list[list[Any]] = [list(header)]
    for field_name, r in rules.items():
        if not r.get("to_include", True):
            continue
        kind = r.get("json_schema_field_type")
        rows.append(
            [
                field_name,
                DB_TYPES.get(str(kind)),
                kind,
                bool(r.get("is_required", False)),
                r.get("minimum"),
                r.get("maximum"),
                r.get("limit_to_values"),
            ]
        )
    return rows

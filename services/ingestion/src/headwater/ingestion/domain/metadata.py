"""Ingestion's metadata as stored: datasets, destinations and data sources are versioned documents (spec 003's
fields in `body`), each change kept in an append-only history; per-field validation rules.

Pure rules only: templates of new records, applying a write to a stored document, optimistic versions,
obfuscated secrets, the paging of a listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from headwater.common.paging import CursorPage

OBFUSCATED = "********"


class Kind(StrEnum):
    """What a versioned document is; also the `kind` of its history rows."""

    DATASET = "dataset"
    DESTINATION = "destination"
    DATA_SOURCE = "data_source"


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """A versioned document: a dataset, a destination or a data source (`parent_id`: a data source's dataset,
    a dataset's destination)."""

    id: int
    version_id: int
    state: str
    name: str | None
    parent_id: int | None
    body: dict[str, Any]
    created_at: datetime
    updated_at: datetime | None


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One change of a document: its whole state after the change."""

    entity_id: int
    version_id: int
    change: str
    state: str
    body: dict[str, Any]
    changed_at: datetime
    changed_by: str | None


@dataclass(frozen=True)
class Filter:
    """What a listing selects: states, a parent (a data source's dataset, a dataset's destination) and, for a
    `limited_to_source` caller, the data sources it may see (None: no limit)."""

    states: tuple[str, ...] | None = None
    parent_id: int | None = None
    data_sources: tuple[int, ...] | None = None


Page = CursorPage[Any]  # one page of a cursor-paged listing (datasets, data sources, destinations, files...)


# -- templates: what `GET .../new` answers and what a POST starts from ---------------------------------------------

DATASET_TEMPLATE: dict[str, Any] = {
    "name": None,
    "schema_name": None,
    "database_name": None,
    "table_name": None,
    "migration_policy": "ask_user",
    "encrypt_raw_data_during_backup": False,
    "compression_type_of_backup_data": "gzip",
    "backup_key_format": None,
    "backup_settings_list": [],
    "backup_settings_id": None,
    "destination_id": None,
    "destinations_list": [],
    "data_loading_process": "replace",
    "should_reprocess": False,
    "max_retry_count": 3,
    "redirect_post_submit_to": "",
    "strictly_one_datetime_format_in_a_column": True,
    "guess_datetime_format_in_ingestion": True,
    "successful_rows_count": 0,
    "bad_rows_count": 0,
    "disabled_fields": [],
    "max_tries_to_fix_json": 3,
    "whodunit_id": None,
    "settings_model": {},
}

DESTINATION_TEMPLATE: dict[str, Any] = {
    "name": None,
    "destination_type": "postgresql",
    "database_name": None,
    "host": None,
    "user": None,
    "port": "5432",
    "password": None,
    "connect_timeout": 10,
    "redirect_post_submit_to": "",
}


def data_source_template(field_names: tuple[str, ...]) -> dict[str, Any]:
    """A new data source: every field null but the few spec 003 gives a value (state, bad rows, redirect)."""
    template: dict[str, Any] = dict.fromkeys(field_names)
    template |= {"state": "active", "bad_rows_count": 0, "redirect_post_submit_to": ""}
    return template


# Fields a client never writes: kept from the stored document (or set by the service).
DATASET_READ_ONLY = ("backup_settings_list",)
DESTINATION_SECRETS = ("password",)


def merged(current: dict[str, Any], changes: dict[str, Any], secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """`current` with `changes` applied; a secret sent back as the obfuscated value keeps the stored one."""
    out = dict(current)
    for key, value in changes.items():
        if key in secrets and value == OBFUSCATED:
            continue
        out[key] = value
    return out


def obfuscated(body: dict[str, Any], secrets: tuple[str, ...]) -> dict[str, Any]:
    """`body` with every secret that holds a value replaced by the obfuscated value."""
    return {k: (OBFUSCATED if k in secrets and v not in (None, "") else v) for k, v in body.items()}


def settings_model_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return before.get("settings_model") != after.get("settings_model")


def with_settings_model(body: dict[str, Any], dataset_id: int, version_id: int) -> dict[str, Any]:
    """The dataset's settings model (1:1 with it: same id) carrying its own version."""
    settings = {
        k: v for k, v in dict(body.get("settings_model") or {}).items() if k not in ("id", "version_id")
    }
    return body | {"settings_model": {"id": dataset_id, "version_id": version_id, **settings}}

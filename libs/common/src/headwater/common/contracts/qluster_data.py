"""The Qluster dialect (spec 003) for the data of ingestion's datasets: their rows and bad rows (Get Data),
ignored line signatures, reprocessed bad rows, the menu's counts, and the ingestion service's queue messages.

Field names are spec 003's; what goes beyond it is said where it is declared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from headwater.common.contracts.qluster import Page
from headwater.common.contracts.types import STORABLE, Count, Id

MAX_IDS = 10_000
# A line signature as the engine makes it (an MD5 hex digest); anything up to 128 characters is taken.
Signature = Annotated[str, Meta(min_length=1, max_length=128, pattern=STORABLE)]
OrderBy = Annotated[str, Meta(min_length=1, max_length=64, pattern=STORABLE)]


class DataPage(Struct, kw_only=True):
    """Get Data: one page of a dataset's rows (`results`: field name to value, with the hidden `_id`,
    `_stored_item_id`, `_data_source_id`, `_line_number`, `_signature` and `_ingested_at`), or of its bad rows
    (`is_bad_data`: `_signature`, the failing `_field_name` and `_field_value`, the reason `_msg`, the
    `_alert_type` and the raw `_row`)."""

    title: str
    total_page_count: int
    total_rows: int
    dataset_name: str | None
    fields: list[str]
    results: list[dict[str, Any]]
    filters: dict[str, Any]


class LineSignatures(Struct, kw_only=True):
    """Ignore Line Signature For Dataset View: [data source model id, line signature] pairs."""

    data_source_model_to_line_signatures: Annotated[
        list[tuple[Id, Signature]], Meta(min_length=1, max_length=MAX_IDS)
    ]


class BadRowIds(Struct, kw_only=True):
    """Reprocess Bad Rows For Dataset View: the ids of the bad rows (`_id` of Get Data with is_bad_data=true);
    an empty list reprocesses every bad row of the dataset."""

    ids: Annotated[list[Id], Meta(max_length=MAX_IDS)]


class MenuCounts(Struct, kw_only=True):
    """What ingestion counts for Get Menu Stats (the gateway adds quality-alerting's fatal errors and unresolved
    alerts)."""

    datasets_count: Count
    data_source_models_count: Count
    destinations_count: Count


class MenuStats(MenuCounts, kw_only=True):
    """Get Menu Stats."""

    errors_count: Count
    unresolved_alerts_count: Count


class QueueMsg(Struct, kw_only=True):
    """One message of the ingestion service: an event of its outbox (`q_name` is its topic, `acknowledged` once
    the broker took it) or one the broker refused, kept in the outbox quarantine (beyond 003: `quarantined`,
    `reason`, `event_type`)."""

    id: int
    enqueued_at: datetime
    dequeued_at: datetime | None
    expected_at: datetime | None
    schedule_at: datetime | None
    q_name: str
    key: str
    data: dict[str, Any]
    acknowledged: bool
    data_source_model_id: int | None
    put_count: int
    receive_count: int
    event_type: str
    quarantined: bool
    reason: str | None


class QueueMsgPage(Page, kw_only=True):
    results: list[QueueMsg]


class QueueMsgIds(Struct, kw_only=True):
    """Reschedule Queue Msgs."""

    ids: Annotated[list[Id], Meta(min_length=1, max_length=MAX_IDS)]

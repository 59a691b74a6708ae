"""What an alert is: a draft before it is stored (type, severity, wording, the keys that keep it unique), the
stored alert, and which alerts a listing keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import msgspec

SEVERITIES = ("info", "warning", "critical")
ALERT_TYPES = ("anomaly", "freshness", "timeliness", "queue_backlog")
# Beyond these, ingestion alerts are typed by what went wrong with a file: each alert type ingestion counts
# quarantined rows under (e.g. `type_mismatch`), and `ingestion_failed` for a file that could not be ingested.
INGESTION_FAILED = "ingestion_failed"


@dataclass(frozen=True)
class AlertDraft:
    """An alert to raise. `dedup_key` names the occurrence (raised once, however often it is found again);
    `condition_key` names the condition behind it (a channel's suppression window is per condition)."""

    alert_type: str
    severity: str
    msg: str
    dedup_key: str
    condition_key: str
    body: dict[str, Any] = field(default_factory=dict)
    pipeline_id: int | None = None
    pipeline_name: str | None = None
    pipeline_type_id: int | None = None
    execution_id: int | None = None
    data_source_id: int | None = None  # None for pipeline alerts: they belong to no data source
    dataset_id: int | None = None
    stored_item_id: int | None = None  # the file an ingestion alert is about
    count: int = 1  # how many occurrences it stands for (e.g. quarantined rows)
    blocks_stored_item: bool = False  # the file was not loaded because of it
    is_muted: bool = False  # raised muted: shown only with the quarantined rows it is about


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """A stored alert."""

    id: int
    alert_type: str
    severity: str
    pipeline_id: int | None
    pipeline_name: str | None
    pipeline_type_id: int | None
    execution_id: int | None
    data_source_id: int | None
    dataset_id: int | None
    stored_item_id: int | None
    count: int
    blocks_stored_item: bool
    msg: str
    body: dict[str, Any]
    dedup_key: str
    condition_key: str
    resolved: bool
    resolved_at: datetime | None
    resolve_action: str | None
    is_muted: bool
    created_at: datetime


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a listing keeps: resolved or not and muted or not (unresolved and unmuted ones unless told,
    as Qluster lists them), and those whose other columns equal every value set here (None: any value), among
    the data sources the caller may see (`data_sources`; None: all of them)."""

    resolved: bool = False
    is_muted: bool = False
    alert_type: str | None = None
    pipeline_id: int | None = None
    data_source_id: int | None = None
    dataset_id: int | None = None
    data_sources: Sequence[int] | None = None

    def columns(self) -> dict[str, Any]:
        """The column values asked for: the fields not None, but `data_sources` (a reach, not a column)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k != "data_sources"}

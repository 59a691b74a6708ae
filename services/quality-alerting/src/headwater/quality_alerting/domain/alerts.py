"""What an alert is: a draft before it is stored (type, severity, wording, the keys that keep it unique) and the
stored alert."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

SEVERITIES = ("info", "warning", "critical")
ALERT_TYPES = ("anomaly", "freshness", "timeliness", "queue_backlog")


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
    msg: str
    body: dict[str, Any]
    dedup_key: str
    condition_key: str
    resolved: bool
    resolved_at: datetime | None
    resolve_action: str | None
    is_muted: bool
    created_at: datetime

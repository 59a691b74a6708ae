"""What an alert is before it is stored: its type, severity, wording and the keys that keep it unique."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "critical")
ALERT_TYPES = ("anomaly", "freshness", "timeliness", "queue_backlog")


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for critical: a channel takes alerts at or above its minimum."""
    return SEVERITIES.index(severity)


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

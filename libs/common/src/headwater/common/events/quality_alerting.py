"""Events produced by quality-alerting: anomalies found and cleared, alerts raised and resolved."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import msgspec

from headwater.common.events.base import Event, PipelineEvent


class AnomalousMetric(msgspec.Struct, frozen=True, kw_only=True):
    """One metric of an execution that fell outside its rule's range, with the statistics that decided it."""

    metric_field: str
    value: float
    mean: float
    stddev: float
    z_score: float
    z_threshold: float
    threshold_min: float
    threshold_max: float
    baseline_count: int


class AnomalyDetected(PipelineEvent, frozen=True, kw_only=True, tag="anomaly.detected.v1"):
    """One or more metrics of a successful execution are anomalous.

    Producer: quality-alerting, after evaluating the pipeline's active rules on an `execution.ended`.
    Topic `anomaly.detected`, key: pipeline id. execution-tracking sets the execution's `anomaly_flags` to true
    for every metric listed (flags of other metrics are kept).
    """

    pipeline_name: str
    execution_id: int
    metrics: list[AnomalousMetric]


class AnomalyCleared(PipelineEvent, frozen=True, kw_only=True, tag="anomaly.cleared.v1"):
    """Anomaly flags of an execution were cleared by a user (`POST /unflag_anomaly`).

    Producer: quality-alerting, after deleting the matching results. Topic `anomaly.cleared`, key: pipeline id.
    execution-tracking sets the execution's `anomaly_flags` to false for every metric listed.
    """

    execution_id: int
    metric_fields: list[str]


class AlertRaised(Event, frozen=True, kw_only=True, tag="alert.raised.v1"):
    """An alert was raised: an anomaly, a stale pipeline, a late execution or a queue backlog.

    Producer: quality-alerting. Topic `alert.raised`, key: alert id. `details` carries what the alert is about
    (the anomalous metrics, the stale DML time, the late execution, the backlog) so consumers never call back.
    """

    key_field: ClassVar[str] = "alert_id"

    alert_id: int
    alert_type: str
    severity: str
    pipeline_id: int | None = None
    pipeline_name: str | None = None
    execution_id: int | None = None
    msg: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: datetime


class AlertResolved(Event, frozen=True, kw_only=True, tag="alert.resolved.v1"):
    """An alert was resolved by a user (`POST /alerts/{id}/resolve`) or by the condition clearing.

    Producer: quality-alerting. Topic `alert.resolved`, key: alert id.
    """

    key_field: ClassVar[str] = "alert_id"

    alert_id: int
    alert_type: str
    pipeline_id: int | None = None
    action: str | None = None
    resolved_at: datetime

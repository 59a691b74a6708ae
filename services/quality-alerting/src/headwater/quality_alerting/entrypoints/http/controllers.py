"""Controllers of the internal API: translate a request into one use case call and its result back."""

from __future__ import annotations

from typing import Any

from headwater.quality_alerting.entrypoints.http.alert_controllers import AlertController
from headwater.quality_alerting.entrypoints.http.anomaly_controllers import (
    AnomalyDetectionRuleController,
    UnflagAnomalyController,
)
from headwater.quality_alerting.entrypoints.http.notification_controllers import NOTIFICATION_CONTROLLERS
from headwater.quality_alerting.entrypoints.http.retention_controllers import RetentionController

CONTROLLERS: list[Any] = [
    AnomalyDetectionRuleController,
    UnflagAnomalyController,
    AlertController,
    RetentionController,
    *NOTIFICATION_CONTROLLERS,
]

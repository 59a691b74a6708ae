"""Controllers of the internal API: translate a request into one use case call and its result back."""

from __future__ import annotations

from typing import Any

from litestar import Router

from headwater.common.http import refuse_limited_to_source
from headwater.quality_alerting.entrypoints.http.alert_controllers import AlertController
from headwater.quality_alerting.entrypoints.http.anomaly_controllers import (
    AnomalyDetectionRuleController,
    UnflagAnomalyController,
)
from headwater.quality_alerting.entrypoints.http.fatal_error_controllers import FatalErrorController
from headwater.quality_alerting.entrypoints.http.notification_controllers import NOTIFICATION_CONTROLLERS
from headwater.quality_alerting.entrypoints.http.retention_controllers import RetentionController

CONTROLLERS: list[Any] = [
    AlertController,  # scopes each alert to the caller's data sources itself
    FatalErrorController,  # and each fatal error
    # Rules, anomalies, channels and retention belong to no data source: a `limited_to_source` principal may
    # use none of them. New controllers go inside this router unless, like alerts, they scope what they serve.
    Router(
        path="/",
        route_handlers=[
            AnomalyDetectionRuleController,
            UnflagAnomalyController,
            RetentionController,
            *NOTIFICATION_CONTROLLERS,
        ],
        guards=[refuse_limited_to_source],
    ),
]

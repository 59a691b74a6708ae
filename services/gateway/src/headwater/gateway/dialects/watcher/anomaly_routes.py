"""Watcher routes of anomaly detection: rules and unflagging, served by quality-alerting."""

from __future__ import annotations

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, JSONBody

from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.watcher import (
    AnomalyDetectionRule,
    AnomalyDetectionRuleCreate,
    AnomalyDetectionRuleUpdate,
    Created,
    UnflagAnomaly,
)
from headwater.gateway.dialects.deps import ToQualityAlerting


class AnomalyDetectionRuleRoutes(Controller):
    tags = ["Anomaly Detection"]

    @post(
        QualityAlertingPaths.ANOMALY_DETECTION_RULES,
        summary="Create or get anomaly detection rule",
        description="Get-or-create on (pipeline_id, metric_field): 201 when created, 200 when it existed. "
        "Beyond the reference: `seasonality` `hour` (default) or `hour_of_week`, `direction` `both` (default), "
        "`spike` or `drop`.",
        status_code=201,
    )
    async def upsert(
        self, data: JSONBody[AnomalyDetectionRuleCreate], to_quality_alerting: ToQualityAlerting
    ) -> Response[Created]:
        return await to_quality_alerting()

    @get(QualityAlertingPaths.ANOMALY_DETECTION_RULES, summary="List anomaly detection rules")
    async def list_all(self, to_quality_alerting: ToQualityAlerting) -> Response[list[AnomalyDetectionRule]]:
        return await to_quality_alerting()

    @get(QualityAlertingPaths.ANOMALY_DETECTION_RULE, summary="Get anomaly detection rule by ID")
    async def get_one(
        self, anomaly_detection_rule_id: FromPath[int], to_quality_alerting: ToQualityAlerting
    ) -> Response[AnomalyDetectionRule]:
        return await to_quality_alerting()

    @patch(QualityAlertingPaths.ANOMALY_DETECTION_RULES, summary="Update anomaly detection rule")
    async def update(
        self, data: JSONBody[AnomalyDetectionRuleUpdate], to_quality_alerting: ToQualityAlerting
    ) -> Response[AnomalyDetectionRule]:
        return await to_quality_alerting()


class UnflagAnomalyRoutes(Controller):
    tags = ["Anomaly Detection"]

    @post(
        QualityAlertingPaths.UNFLAG_ANOMALY,
        summary="Unflag anomalies",
        description="Clears the execution's flags for the metrics listed and deletes their results: 204; "
        "404 when none of them is flagged.",
        status_code=204,
    )
    async def unflag(
        self, data: JSONBody[UnflagAnomaly], to_quality_alerting: ToQualityAlerting
    ) -> Response[None]:
        return await to_quality_alerting()


ROUTES = [AnomalyDetectionRuleRoutes, UnflagAnomalyRoutes]

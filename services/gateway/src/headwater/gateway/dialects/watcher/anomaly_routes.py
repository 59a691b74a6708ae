"""Watcher routes of anomaly detection: rules and unflagging, served by quality-alerting."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, SkipValidation

from headwater.common.contracts.watcher import (
    AnomalyDetectionRule,
    AnomalyDetectionRuleCreate,
    AnomalyDetectionRuleUpdate,
    Created,
    UnflagAnomaly,
)
from headwater.common.principal import Principal
from headwater.gateway.dialects.forward import forward
from headwater.gateway.upstream import Upstream

AnyRequest = Request[Any, Any, Any]
Caller = NamedDependency[SkipValidation[Principal]]
QualityAlerting = NamedDependency[SkipValidation[Upstream]]


class AnomalyDetectionRuleRoutes(Controller):
    path = "/anomaly_detection_rule"
    tags = ["Anomaly Detection"]

    @post(
        "/",
        summary="Create or get anomaly detection rule",
        description="Get-or-create on (pipeline_id, metric_field): 201 when created, 200 when it existed. "
        "Beyond the reference: `seasonality` `hour` (default) or `hour_of_week`, `direction` `both` (default), "
        "`spike` or `drop`.",
        status_code=201,
    )
    async def upsert(
        self,
        data: JSONBody[AnomalyDetectionRuleCreate],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[Created]:
        return await forward(quality_alerting, request, principal)

    @get("/", summary="List anomaly detection rules")
    async def list_all(
        self, request: AnyRequest, principal: Caller, quality_alerting: QualityAlerting
    ) -> Response[list[AnomalyDetectionRule]]:
        return await forward(quality_alerting, request, principal)

    @get("/{anomaly_detection_rule_id:int}", summary="Get anomaly detection rule by ID")
    async def get_one(
        self,
        anomaly_detection_rule_id: FromPath[int],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[AnomalyDetectionRule]:
        return await forward(quality_alerting, request, principal)

    @patch("/", summary="Update anomaly detection rule")
    async def update(
        self,
        data: JSONBody[AnomalyDetectionRuleUpdate],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[AnomalyDetectionRule]:
        return await forward(quality_alerting, request, principal)


class UnflagAnomalyRoutes(Controller):
    tags = ["Anomaly Detection"]

    @post(
        "/unflag_anomaly",
        summary="Unflag anomalies",
        description="Clears the execution's flags for the metrics listed and deletes their results: 204; "
        "404 when none of them is flagged.",
        status_code=204,
    )
    async def unflag(
        self,
        data: JSONBody[UnflagAnomaly],
        request: AnyRequest,
        principal: Caller,
        quality_alerting: QualityAlerting,
    ) -> Response[None]:
        return await forward(quality_alerting, request, principal)


ROUTES = [AnomalyDetectionRuleRoutes, UnflagAnomalyRoutes]

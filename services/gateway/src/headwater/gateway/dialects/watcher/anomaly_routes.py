"""Watcher anomaly detection rule writes: a rule names a pipeline that must exist (404 otherwise).

Quality-alerting keeps its own copy of the pipelines, fed by `pipeline.changed` events, which may lag behind a
pipeline created a moment ago; so the gateway asks execution-tracking, which owns pipelines and answers with
what it has committed, before forwarding the rule. (Asking from quality-alerting would give that service a
synchronous dependency on another one, which no service has: they talk through Kafka.)"""

from __future__ import annotations

from typing import Any

from litestar import Response, patch, post
from litestar.params import JSONBody
from msgspec import UNSET

from headwater.common.contracts.paths import ExecutionTrackingPaths, QualityAlertingPaths
from headwater.common.contracts.watcher import (
    AnomalyDetectionRule,
    AnomalyDetectionRuleCreate,
    AnomalyDetectionRuleUpdate,
    Created,
)
from headwater.common.logging import get_logger
from headwater.common.principal import Principal
from headwater.gateway.dialects.deps import Caller, Service, ToQualityAlerting
from headwater.gateway.dialects.watcher.routes import EXISTED
from headwater.gateway.upstream import Upstream

TAGS = ["Anomaly Detection"]

log = get_logger(__name__)


async def unknown_pipeline(
    execution_tracking: Upstream, pipeline_id: int, principal: Principal
) -> Response[Any] | None:
    """None when execution-tracking has the pipeline; otherwise its answer (404 naming the pipeline, or a
    refusal of the caller) to relay instead of forwarding the rule."""
    answer = await execution_tracking.call(
        "GET", f"{ExecutionTrackingPaths.PIPELINES}/{pipeline_id}", principal=principal
    )
    if answer.status == 200:
        return None
    log.info("anomaly_rule_refused", pipeline_id=pipeline_id, status=answer.status)
    return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)


@post(
    QualityAlertingPaths.ANOMALY_DETECTION_RULES,
    tags=TAGS,
    summary="Create or get anomaly detection rule",
    description="Get-or-create on (pipeline_id, metric_field): 201 when created, 200 when it existed; 404 when "
    "the pipeline does not exist. Beyond the reference: `seasonality` `hour` (default) or `hour_of_week`, "
    "`direction` `both` (default), `spike` or `drop`.",
    status_code=201,
    responses=EXISTED,
)
async def upsert(
    data: JSONBody[AnomalyDetectionRuleCreate],
    principal: Caller,
    execution_tracking: Service,
    to_quality_alerting: ToQualityAlerting,
) -> Response[Created]:
    return (
        await unknown_pipeline(execution_tracking, data.pipeline_id, principal) or await to_quality_alerting()
    )


@patch(
    QualityAlertingPaths.ANOMALY_DETECTION_RULES,
    tags=TAGS,
    summary="Update anomaly detection rule",
    description="Sets every field sent; 404 when the rule, or the pipeline it is moved to, does not exist.",
)
async def update(
    data: JSONBody[AnomalyDetectionRuleUpdate],
    principal: Caller,
    execution_tracking: Service,
    to_quality_alerting: ToQualityAlerting,
) -> Response[AnomalyDetectionRule]:
    if data.pipeline_id is not UNSET:
        refused = await unknown_pipeline(execution_tracking, data.pipeline_id, principal)
        if refused is not None:
            return refused
    return await to_quality_alerting()


ROUTES = [upsert, update]

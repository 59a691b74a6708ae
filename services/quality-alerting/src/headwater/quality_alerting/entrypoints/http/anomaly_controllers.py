"""Internal API of anomaly detection: rules (upsert, list, get, patch) and unflagging."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from headwater.common.contracts.paths import QualityAlertingPaths
from headwater.common.contracts.watcher import (
    AnomalyDetectionRule,
    AnomalyDetectionRuleCreate,
    AnomalyDetectionRuleUpdate,
    Created,
    UnflagAnomaly,
    sent,
)
from headwater.quality_alerting.domain.anomaly import AnomalyRule
from headwater.quality_alerting.entrypoints.http.deps import UowFactory
from headwater.quality_alerting.service_layer import anomalies


def _rule(rule: AnomalyRule) -> AnomalyDetectionRule:
    return AnomalyDetectionRule(**msgspec.structs.asdict(rule))


class AnomalyDetectionRuleController(Controller):
    @post(QualityAlertingPaths.ANOMALY_DETECTION_RULES, status_code=HTTP_201_CREATED)
    async def upsert(
        self, data: JSONBody[AnomalyDetectionRuleCreate], uow_factory: UowFactory
    ) -> Response[Created]:
        rule_id, created = await anomalies.upsert_rule(uow_factory(), sent(data))
        return Response(Created(rule_id), status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @get(QualityAlertingPaths.ANOMALY_DETECTION_RULES)
    async def list_all(self, uow_factory: UowFactory) -> list[AnomalyDetectionRule]:
        return [_rule(r) for r in await anomalies.list_rules(uow_factory())]

    @get(QualityAlertingPaths.ANOMALY_DETECTION_RULE)
    async def get_one(
        self, anomaly_detection_rule_id: FromPath[int], uow_factory: UowFactory
    ) -> AnomalyDetectionRule:
        return _rule(await anomalies.get_rule(uow_factory(), anomaly_detection_rule_id))

    @patch(QualityAlertingPaths.ANOMALY_DETECTION_RULES)
    async def update(
        self, data: JSONBody[AnomalyDetectionRuleUpdate], uow_factory: UowFactory
    ) -> AnomalyDetectionRule:
        fields = sent(data)
        rule_id = fields.pop("id")
        return _rule(await anomalies.update_rule(uow_factory(), rule_id, fields))


class UnflagAnomalyController(Controller):
    @post(QualityAlertingPaths.UNFLAG_ANOMALY, status_code=HTTP_204_NO_CONTENT)
    async def unflag(self, data: JSONBody[UnflagAnomaly], uow_factory: UowFactory) -> None:
        await anomalies.unflag_anomaly(
            uow_factory(), data.pipeline_id, data.pipeline_execution_id, data.metric_field
        )

"""Reacting to quality-alerting's verdicts: an execution's `anomaly_flags` follow anomaly.detected/cleared."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from headwater.common.events import AnomalyCleared, AnomalyDetected
from headwater.common.logging import get_logger
from headwater.execution_tracking.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

AnomalyVerdict = AnomalyDetected | AnomalyCleared


def fold_flags(events: Sequence[AnomalyVerdict]) -> dict[int, dict[str, bool]]:
    """Each execution's flag changes, in event order (a later verdict on a metric wins)."""
    patches: dict[int, dict[str, bool]] = {}
    for event in events:
        patch = patches.setdefault(event.execution_id, {})
        if isinstance(event, AnomalyDetected):
            patch.update({m.metric_field: True for m in event.metrics})
        else:
            patch.update(dict.fromkeys(event.metric_fields, False))
    return patches


async def apply_anomaly_verdicts(uow: UnitOfWork, events: Sequence[AnomalyVerdict]) -> Sequence[Any]:
    """Set the flags of a batch of verdicts in one statement. Setting a flag is idempotent and verdicts on one
    pipeline arrive in order (keyed by pipeline), so a redelivered batch needs no inbox. Nothing is rejected."""
    patches = fold_flags(events)
    async with uow:
        found = await uow.executions.merge_anomaly_flags(patches)
        await uow.commit()
    if found < len(patches):
        log.warning("anomaly_verdict_for_unknown_execution", executions=len(patches), found=found)
    return []

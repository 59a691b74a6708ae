"""quality-alerting's verdicts folded into flag changes per execution, in event order."""

from __future__ import annotations

from headwater.common.events import AnomalousMetric, AnomalyCleared, AnomalyDetected
from headwater.execution_tracking.service_layer.anomaly_flags import fold_flags


def metric(name: str) -> AnomalousMetric:
    return AnomalousMetric(
        metric_field=name,
        value=10.0,
        mean=1.0,
        stddev=1.0,
        z_score=9.0,
        z_threshold=3.0,
        threshold_min=0.0,
        threshold_max=4.0,
        baseline_count=30,
    )


def test_a_later_verdict_on_a_metric_wins_and_other_metrics_are_kept() -> None:
    events = [
        AnomalyDetected(pipeline_id=1, pipeline_name="p", execution_id=7, metrics=[metric("total_rows")]),
        AnomalyDetected(pipeline_id=1, pipeline_name="p", execution_id=8, metrics=[metric("inserts")]),
        AnomalyCleared(pipeline_id=1, execution_id=7, metric_fields=["total_rows"]),
        AnomalyDetected(
            pipeline_id=1, pipeline_name="p", execution_id=7, metrics=[metric("duration_seconds")]
        ),
    ]
    assert fold_flags(events) == {
        7: {"total_rows": False, "duration_seconds": True},
        8: {"inserts": True},
    }

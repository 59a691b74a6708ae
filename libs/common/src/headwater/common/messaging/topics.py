"""Every topic Headwater uses, and the deployment's prefix that namespaces them on a shared cluster."""

from __future__ import annotations

INGRESS_TOPICS = ("ingress.runs", "ingress.lineage", "ingress.files")

CANONICAL_TOPICS = (
    "pipeline.changed",
    "execution.started",
    "execution.ended",
    "lineage.changed",
    "file.stored",
    "file.ingested",
    "rows.quarantined",
    "anomaly.detected",
    "anomaly.cleared",
    "alert.raised",
    "alert.resolved",
    "job.changed",
    "job.run.requested",
    "checks.requested",
    "retention.requested",
    "workflow.changed",
)

# The consumer group of each service and the topics it consumes: what queue
# monitoring measures the lag of.
CONSUMED_TOPICS: dict[str, tuple[str, ...]] = {
    "execution-tracking": (
        "ingress.runs",
        "ingress.lineage",
        "anomaly.detected",
        "anomaly.cleared",
        "retention.requested",
    ),
    "quality-alerting": (
        "pipeline.changed",
        "execution.started",
        "execution.ended",
        "checks.requested",
        "retention.requested",
    ),
}

DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_topics() -> list[str]:
    """Every topic to create: ingress and canonical topics, each with its dead-letter twin."""
    names = [*INGRESS_TOPICS, *CANONICAL_TOPICS]
    return names + [dlq_topic(t) for t in names]


def prefixed(prefix: str, topic: str) -> str:
    return f"{prefix}{topic}" if prefix else topic

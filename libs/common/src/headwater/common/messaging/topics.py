"""Every topic Headwater uses (what the deployment creates), the prefix that namespaces them on a shared
cluster, and how a set of consumer groups and their topics is written in a setting."""

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


def parse_consumer_groups(text: str) -> dict[str, tuple[str, ...]]:
    """`group=topic topic; group=topic` (what a lag monitor is told to watch) as {group: topics}.

    Each service declares what it consumes in its own subscribers; whoever measures lag is configured with it,
    since a Kafka-protocol broker need not say which topics a group reads while none of its members runs."""
    groups: dict[str, tuple[str, ...]] = {}
    for entry in (e.strip() for e in text.split(";")):
        if not entry:
            continue
        group, sep, topics = entry.partition("=")
        if not sep or not group.strip() or not topics.split():
            raise ValueError(f"expected `group=topic topic ...`, got {entry!r}")
        groups[group.strip()] = tuple(topics.split())
    return groups


DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_topics() -> list[str]:
    """Every topic to create: ingress and canonical topics, each with its dead-letter twin."""
    names = [*INGRESS_TOPICS, *CANONICAL_TOPICS]
    return names + [dlq_topic(t) for t in names]


def prefixed(prefix: str, topic: str) -> str:
    return f"{prefix}{topic}" if prefix else topic

"""The AsyncAPI document of Headwater's topics, generated from the event contracts.

`python -m headwater.common.events.asyncapi > docs/asyncapi.json` writes it; a test keeps the committed copy
equal to what the contracts say.
"""

from __future__ import annotations

import sys
from typing import Any

import msgspec

from headwater.common.contracts.openlineage import RunEvent
from headwater.common.events.execution_tracking import (
    ExecutionEnded,
    ExecutionStarted,
    LineageChanged,
    PipelineChanged,
)
from headwater.common.events.ingestion import FileIngested, FileStored, JobChanged, RowsQuarantined
from headwater.common.events.ingress import RunEnded, RunStarted
from headwater.common.events.quality_alerting import (
    AlertRaised,
    AlertResolved,
    AnomalyCleared,
    AnomalyDetected,
)
from headwater.common.events.scheduler import ChecksRequested, JobRunRequested, RetentionRequested

# topic -> (events on it, who sends, who receives, key); a sender starting "producers" marks an ingress topic
CHANNELS: dict[str, tuple[tuple[type[Any], ...], str, str, str]] = {
    "pipeline.changed": ((PipelineChanged,), "execution-tracking", "any consumer", "pipeline id"),
    "execution.started": ((ExecutionStarted,), "execution-tracking", "any consumer", "pipeline id"),
    "execution.ended": ((ExecutionEnded,), "execution-tracking", "any consumer", "pipeline id"),
    "lineage.changed": ((LineageChanged,), "execution-tracking", "any consumer", "pipeline id"),
    "file.stored": ((FileStored,), "ingestion", "ingestion, any consumer", "dataset id"),
    "file.ingested": ((FileIngested,), "ingestion", "quality-alerting, any consumer", "dataset id"),
    "rows.quarantined": ((RowsQuarantined,), "ingestion", "quality-alerting", "dataset id"),
    "job.changed": ((JobChanged,), "ingestion", "scheduler", "the job's name (`sensor-<data source id>`)"),
    "anomaly.detected": ((AnomalyDetected,), "quality-alerting", "execution-tracking", "pipeline id"),
    "anomaly.cleared": ((AnomalyCleared,), "quality-alerting", "execution-tracking", "pipeline id"),
    "alert.raised": ((AlertRaised,), "quality-alerting", "any consumer", "alert id"),
    "alert.resolved": ((AlertResolved,), "quality-alerting", "any consumer", "alert id"),
    "checks.requested": (
        (ChecksRequested,),
        "scheduler",
        "quality-alerting",
        "the check (freshness, timeliness or queue)",
    ),
    "retention.requested": (
        (RetentionRequested,),
        "scheduler",
        "execution-tracking, quality-alerting, ingestion",
        "`retention`",
    ),
    "job.run.requested": (
        (JobRunRequested,),
        "scheduler",
        "ingestion (kind `sensor`)",
        "the job's name (`sensor-<data source id>`)",
    ),
    "ingress.runs": ((RunStarted, RunEnded), "producers", "execution-tracking", "the pipeline (name or id)"),
    "ingress.lineage": (
        (RunEvent,),
        "producers (OpenLineage clients' Kafka transport)",
        "execution-tracking",
        "run:<job namespace>/<job name> as the OpenLineage Kafka transport sets it",
    ),
}

HEADERS = {
    "type": "object",
    "properties": {
        "ce_id": {"type": "string", "description": "the event_id"},
        "ce_type": {"type": "string", "description": "the event's tag, e.g. execution.ended.v1"},
        "ce_source": {"type": "string", "description": "headwater/<producing service>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "traceparent": {"type": "string", "description": "W3C trace context of the cause"},
    },
}


def document() -> dict[str, Any]:
    classes = [cls for events, *_ in CHANNELS.values() for cls in events]
    _, schemas = msgspec.json.schema_components(classes, ref_template="#/components/schemas/{name}")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic, (events, sender, receiver, key) in CHANNELS.items():
        ingress = sender.startswith("producers")
        refs = {}
        for cls in events:
            # an untagged contract (OpenLineage's RunEvent) is named by its class
            tag = cls.__struct_config__.tag or cls.__name__
            messages[cls.__name__] = {
                "name": tag,
                "title": cls.__name__,
                "summary": (cls.__doc__ or "").strip().splitlines()[0],
                "description": (cls.__doc__ or "").strip(),
                "contentType": "application/json",
                "headers": {"type": "object"} if ingress else {"$ref": "#/components/schemas/Headers"},
                "payload": {"$ref": f"#/components/schemas/{cls.__name__}"},
            }
            refs[cls.__name__] = {"$ref": f"#/components/messages/{cls.__name__}"}
        channels[topic] = {
            "address": topic,
            "description": f"Key: {key}. Prefixed by HEADWATER_TOPIC_PREFIX. Dead letters go to {topic}.dlq.",
            "messages": refs,
        }
        action = "receive" if ingress else "send"
        operations[f"{action}-{topic}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"{sender} → {receiver}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Headwater events",
            "version": "1",
            "description": "Canonical events of Headwater and the ingress topics producers publish to. "
            "JSON bodies tagged by `type` = `<name>.v<major>`; fields are only added, with defaults. "
            "`ingress.lineage` carries OpenLineage RunEvents as the OpenLineage spec defines them (untagged).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": {**schemas, "Headers": HEADERS}, "messages": messages},
    }


def render() -> bytes:
    return msgspec.json.format(msgspec.json.encode(document()), indent=2) + b"\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(render())

"""Alerts and fatal errors of file ingestion: quarantined rows raise one alert per (file, alert type), a file
that could not be ingested raises a visible alert and a fatal error."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from headwater.common.events import FileIngested, RowsQuarantined
from headwater.quality_alerting.domain.alerts import INGESTION_FAILED, AlertDraft
from headwater.quality_alerting.domain.fatal_errors import FatalErrorReport
from headwater.quality_alerting.service_layer.alerts import raise_alerts
from headwater.quality_alerting.service_layer.fatal_errors import record_fatal_error
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWork

CONSUMER = "quality-alerting.ingestion"
MODULE = "ingestion"
JOB_NAME = "ingestion"

IngestionFact = FileIngested | RowsQuarantined

INT4_MAX = 2**31 - 1
MAX_SAMPLE_REASONS = 10
MAX_REASON = 500
MAX_ERROR_TEXT = 10_000
# "UnicodeDecodeError: ..." names its error class first; a text that does not is reported as IngestionFailed.
_ERROR_CLASS = re.compile(r"^\s*([A-Za-z_][\w.]{0,299})(?::|\s*$)")


def _storable(text: str, max_length: int) -> str:
    """`text` as Postgres stores it (no NUL) and at most `max_length` characters."""
    return text.replace("\x00", "\ufffd")[:max_length]


def quarantine_alerts(event: RowsQuarantined) -> list[AlertDraft]:
    """One alert per alert type the file's rows were quarantined under, with its row count and the sample
    reasons. Muted (seen with the quarantined rows) unless the quarantine held the whole file back: then it is
    visible, critical and blocks the stored item."""
    reasons = [_storable(r, MAX_REASON) for r in event.sample_reasons[:MAX_SAMPLE_REASONS]]
    counts = event.counts or {"rows_quarantined": 0}  # a producer that counted nothing still gets its alert
    drafts: list[AlertDraft] = []
    for raw_type, rows in sorted(counts.items()):
        alert_type = _storable(raw_type, 40) or "rows_quarantined"
        count = max(0, min(rows, INT4_MAX))
        held = " The file was not loaded." if event.blocking else ""
        drafts.append(
            AlertDraft(
                alert_type=alert_type,
                severity="critical" if event.blocking else "warning",
                msg=f"{count} row(s) of stored item {event.stored_item_id} quarantined: {alert_type}.{held}",
                dedup_key=f"rows_quarantined:{event.stored_item_id}:{alert_type}",
                condition_key=f"rows_quarantined:{event.dataset_id}:{alert_type}",
                body={
                    "stored_item_id": event.stored_item_id,
                    "rows_quarantined": count,
                    "sample_reasons": reasons,
                    "blocking": event.blocking,
                },
                data_source_id=event.data_source_id,
                dataset_id=event.dataset_id,
                stored_item_id=event.stored_item_id,
                count=count,
                blocks_stored_item=event.blocking,
                is_muted=not event.blocking,
            )
        )
    return drafts


def _error_text(event: FileIngested) -> str:
    return _storable(event.fatal_error or "ingestion failed without a reason", MAX_ERROR_TEXT)


def failed_ingestion_alert(event: FileIngested) -> AlertDraft:
    """The visible alert of a file whose ingestion stopped on a fatal error."""
    reason = _error_text(event)
    return AlertDraft(
        alert_type=INGESTION_FAILED,
        severity="critical",
        msg=f"Stored item {event.stored_item_id} could not be ingested: {reason[:MAX_REASON]}",
        dedup_key=f"{INGESTION_FAILED}:{event.stored_item_id}",
        condition_key=f"{INGESTION_FAILED}:{event.dataset_id}",
        body={
            "stored_item_id": event.stored_item_id,
            "fatal_error": reason,
            "rows_read": event.rows_read,
            "started_at": event.started_at.isoformat(),
            "ended_at": event.ended_at.isoformat(),
        },
        data_source_id=event.data_source_id,
        dataset_id=event.dataset_id,
        stored_item_id=event.stored_item_id,
        blocks_stored_item=True,
    )


def failed_ingestion_report(event: FileIngested, alert_id: int | None) -> FatalErrorReport:
    """The fatal error of a failed file: module `ingestion`, the error class its text names, the text."""
    text = _error_text(event)
    named = _ERROR_CLASS.match(text)
    return FatalErrorReport(
        error=named.group(1) if named else "IngestionFailed",
        module=MODULE,
        msg=text,
        job_name=JOB_NAME,
        job_type="job",
        data_source_id=event.data_source_id,
        dataset_id=event.dataset_id,
        stored_item_id=event.stored_item_id,
        alert_item_id=alert_id,
        meta_data={
            "event_id": str(event.event_id),
            "rows_read": event.rows_read,
            "started_at": event.started_at.isoformat(),
            "ended_at": event.ended_at.isoformat(),
        },
    )


@dataclass(frozen=True)
class IngestionOutcome:
    alerts_raised: int
    fatal_errors: int


async def alert_on_ingestion(uow: UnitOfWork, events: Sequence[IngestionFact]) -> IngestionOutcome:
    """Raise the alerts and fatal errors of a batch of ingestion events in one transaction. Events already
    processed (a redelivered batch) are skipped through the inbox; an alert is raised once per (file, alert
    type) however often its file is reported, and a repeated failure of a file adds to its fatal error's count."""
    async with uow:
        new = await uow.claim(CONSUMER, [str(e.event_id) for e in events])
        # once each: a redelivery can bring the same event twice in one batch
        fresh = list({str(e.event_id): e for e in events if str(e.event_id) in new}.values())
        failed = [e for e in fresh if isinstance(e, FileIngested) and e.status == "failed"]
        drafts = [d for e in fresh if isinstance(e, RowsQuarantined) for d in quarantine_alerts(e)]
        drafts += [failed_ingestion_alert(e) for e in failed]
        raised = {a.dedup_key: a.id for a in await raise_alerts(uow, drafts)}
        for event in failed:
            alert_id = raised.get(failed_ingestion_alert(event).dedup_key)
            await record_fatal_error(uow, failed_ingestion_report(event, alert_id))
        await uow.commit()
    return IngestionOutcome(alerts_raised=len(raised), fatal_errors=len(failed))

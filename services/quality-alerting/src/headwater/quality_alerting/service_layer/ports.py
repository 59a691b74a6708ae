"""Ports of quality-alerting's use cases: the repositories behind the unit of work, the consumer-lag reader and
the notification sender. Protocols only; Postgres, Kafka and HTTP implement them in `adapters`, memory in
`headwater.quality_alerting.testing`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from headwater.common.events import ExecutionEnded, ExecutionStarted, PipelineChanged
from headwater.quality_alerting.domain.alerts import Alert, AlertDraft, AlertFilter
from headwater.quality_alerting.domain.anomaly import AnomalyResult, AnomalyRule, RuleSample
from headwater.quality_alerting.domain.fatal_errors import (
    FatalError,
    FatalErrorFilter,
    FatalErrorMatch,
    FatalErrorReport,
)
from headwater.quality_alerting.domain.notifications import (
    Attempted,
    Channel,
    ChannelWithSecret,
    Delivery,
    DueDelivery,
    SendResult,
)
from headwater.quality_alerting.domain.slo import LateExecution, StalePipeline


class Alerts(Protocol):
    """Alerts, raised once per occurrence. `data_sources` is what the caller may see (None: everything): an
    alert out of reach is missing, exactly like one that does not exist."""

    async def insert_new(self, drafts: Sequence[AlertDraft]) -> list[Alert]:
        """Store the drafts whose `dedup_key` is new; the alerts stored."""
        ...

    async def get(self, alert_id: int, data_sources: Sequence[int] | None = None) -> Alert | None: ...

    async def walk(
        self, matching: AlertFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[Alert]:
        """Up to `limit` alerts `matching`, walking the ids up (or down) from `from_id` inclusive (from the
        oldest or the newest without it), in walk order."""
        ...

    async def resolve(
        self, alert_id: int, action: str | None, data_sources: Sequence[int] | None = None
    ) -> Alert | None:
        """Resolve an unresolved alert; None when it is missing or already resolved (nothing changes)."""
        ...

    async def set_muted(
        self, alert_id: int, muted: bool, data_sources: Sequence[int] | None = None
    ) -> Alert | None: ...


class FatalErrors(Protocol):
    """Qluster's fatal errors. `data_sources` is what the caller may see (None: everything): an error out of
    reach is missing, exactly like one that does not exist."""

    async def report(self, report: FatalErrorReport) -> FatalError:
        """Store the report, or add it to the count of the stored error of its fingerprint not deleted."""
        ...

    async def get(self, error_id: int, data_sources: Sequence[int] | None = None) -> FatalError | None: ...

    async def walk(
        self, matching: FatalErrorFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[FatalError]:
        """Up to `limit` errors `matching`, walking the ids up (or down) from `from_id` inclusive (from the
        oldest or the newest without it), in walk order."""
        ...

    async def delete(self, matching: FatalErrorMatch, data_sources: Sequence[int] | None = None) -> list[int]:
        """Mark the errors `matching` not deleted yet as deleted; their ids."""
        ...


class Anomalies(Protocol):
    """Anomaly rules, the samples they judge and their anomalous results."""

    async def insert_rule_if_absent(self, values: Mapping[str, Any]) -> int | None:
        """The new rule's id; None when the pipeline already has one for that metric (left unchanged)."""
        ...

    async def rule_id(self, pipeline_id: int, metric_field: str) -> int | None: ...

    async def list_rules(self) -> list[AnomalyRule]: ...

    async def get_rule(self, rule_id: int) -> AnomalyRule | None: ...

    async def update_rule(self, rule_id: int, values: Mapping[str, Any]) -> AnomalyRule | None:
        """Set `values`; None when the rule is missing. Duplicate when it would repeat (pipeline, metric)."""
        ...

    async def samples(self, execution_ids: Sequence[int]) -> list[RuleSample]:
        """Every active rule of each of these successful executions with its value and baseline, ordered by
        execution and rule."""
        ...

    async def insert_results(self, results: Sequence[AnomalyResult]) -> set[tuple[int, str]]:
        """Store results; one that exists for (execution, metric) is kept. The (execution, metric) stored."""
        ...

    async def delete_results(
        self, pipeline_id: int, execution_id: int, metric_fields: Sequence[str]
    ) -> list[str]:
        """Delete the execution's results for `metric_fields`; the metrics whose results were deleted, sorted."""
        ...


class Copies(Protocol):
    """quality-alerting's copies of execution-tracking's facts: pipeline settings and execution metrics."""

    async def upsert_pipelines(self, events: Sequence[PipelineChanged]) -> None:
        """Keep each pipeline's latest settings; an event older than the stored state changes nothing."""
        ...

    async def record_started(self, events: Sequence[ExecutionStarted]) -> None:
        """A row per started execution; one that exists (its end came first, or a re-send) is kept."""
        ...

    async def record_ended(self, events: Sequence[ExecutionEnded]) -> None:
        """Each ended execution's outcome and metrics (a re-ended execution is overwritten)."""
        ...


class Checks(Protocol):
    """Freshness and timeliness violations, each logged once."""

    async def lock_check(self, check: str) -> None:
        """Hold the check's lock until the transaction ends (checks of one kind run one after another)."""
        ...

    async def log_stale_pipelines(self, now: datetime) -> list[StalePipeline]:
        """Log every pipeline stale at `now` whose last DML was not logged stale before; those."""
        ...

    async def log_late_executions(self, now: datetime, lookback_minutes: int) -> list[LateExecution]:
        """Log every execution started within the lookback, late at `now` and not logged before; those."""
        ...


class Channels(Protocol):
    """Notification channels."""

    async def insert(self, fields: Mapping[str, Any]) -> Channel:
        """The new channel; Duplicate when the name is taken."""
        ...

    async def get(self, channel_id: int) -> Channel | None: ...

    async def get_with_secret(self, channel_id: int, *, lock: bool = False) -> ChannelWithSecret | None:
        """The channel with its secret (`lock` holds its row until the transaction ends)."""
        ...

    async def list_page(self, limit: int, offset: int) -> list[Channel]:
        """At most `limit` channels in id order, after the first `offset`."""
        ...

    async def update(self, channel_id: int, fields: Mapping[str, Any]) -> Channel | None:
        """Set `fields`; None when the channel is gone; Duplicate when the new name is taken."""
        ...

    async def delete(self, channel_id: int) -> bool:
        """Delete the channel and its deliveries; False when there was none."""
        ...


class Deliveries(Protocol):
    """Notification deliveries: queued with their alerts, claimed by notifiers, their outcomes recorded."""

    async def enqueue_for_alerts(self, alert_ids: Sequence[int]) -> int:
        """Queue the deliveries of the new alerts (wakes the notifiers); the number queued as `pending`."""
        ...

    async def claim_due(self, limit: int) -> list[DueDelivery]:
        """Up to `limit` due deliveries nobody else holds, held until the transaction ends."""
        ...

    async def record(self, outcomes: Sequence[Attempted]) -> None: ...

    async def seconds_until_next_due(self) -> float | None:
        """How long until the earliest pending delivery is due (<= 0: now); None when none is pending."""
        ...

    async def fail_pending_of_channel(self, channel_id: int, reason: str) -> int:
        """Give up the channel's pending deliveries; how many."""
        ...

    async def list_for_channel(self, channel_id: int, limit: int) -> list[Delivery]:
        """The channel's newest deliveries first."""
        ...

    async def count_pending(self) -> int: ...


class Retention(Protocol):
    """Deleting old data in batches."""

    async def delete_batch(self, table: str, cutoff: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` rows of `table` older than `cutoff`; how many."""
        ...


class OutboxMessages(Protocol):
    """This service's outbox, as queue monitoring sees it."""

    async def count_unsent(self) -> int: ...


class LagReader(Protocol):
    """Reads each monitored consumer group's lag (messages it has yet to process)."""

    async def __call__(self) -> dict[str, int]: ...


class Sender(Protocol):
    """Posts a notification and reports what the receiver answered; never raises for what the receiver does."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult: ...

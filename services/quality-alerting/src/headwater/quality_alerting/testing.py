"""Test doubles of quality-alerting: an in-memory unit of work whose fake repositories run the use cases of
anomaly detection and alerts without Postgres, and a real HTTP receiver of notifications on loopback.

The fake repositories follow the SQL they stand in for (baselines, results, alert de-duplication); channels,
checks, retention and the outbox backlog are set-based SQL with nothing to learn from a copy in Python, so the
fake has none (nor fatal errors, counted by an upsert) and says so when a use case reaches for one. A webhook receiver path `/hooks/<name>` answers from
its own script of status codes (then 200), optionally after a delay, so a test can make a receiver fail, recover,
or be slow.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import statistics
import time
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import msgspec
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from headwater.common import testing
from headwater.common.errors import Duplicate
from headwater.common.events import ExecutionEnded, ExecutionStarted, PipelineChanged
from headwater.common.records import project
from headwater.quality_alerting.domain.alerts import Alert, AlertDraft, AlertFilter
from headwater.quality_alerting.domain.anomaly import AnomalyResult, AnomalyRule, RuleSample
from headwater.quality_alerting.domain.notifications import Attempted, Delivery, DueDelivery
from headwater.quality_alerting.service_layer import ports

# -- the unit of work ---------------------------------------------------------------------------------------------


@dataclass
class Metric:
    """A row of `execution_metric`: what quality-alerting knows of one execution."""

    execution_id: int
    pipeline_id: int
    start_date: datetime
    hour_recorded: int
    day_of_week: int  # ISO 1..7 of start_date in UTC
    end_date: datetime | None = None
    completed_successfully: bool | None = None
    values: dict[str, float | None] = field(default_factory=dict[str, "float | None"])


METRICS = ("duration_seconds", "inserts", "updates", "soft_deletes", "total_rows", "throughput")


class FakeCopies:
    def __init__(self) -> None:
        self.pipelines: dict[int, PipelineChanged] = {}
        self.metrics: dict[int, Metric] = {}

    async def upsert_pipelines(self, events: Sequence[PipelineChanged]) -> None:
        for e in sorted(events, key=lambda e: e.occurred_at):
            stored = self.pipelines.get(e.pipeline_id)
            if stored is None or stored.occurred_at <= e.occurred_at:
                self.pipelines[e.pipeline_id] = e

    async def record_started(self, events: Sequence[ExecutionStarted]) -> None:
        for e in events:
            self.metrics.setdefault(
                e.execution_id,
                Metric(e.execution_id, e.pipeline_id, e.start_date, e.hour_recorded, _iso_day(e.start_date)),
            )

    async def record_ended(self, events: Sequence[ExecutionEnded]) -> None:
        for e in events:
            self.metrics[e.execution_id] = Metric(
                e.execution_id,
                e.pipeline_id,
                e.start_date,
                e.hour_recorded,
                _iso_day(e.start_date),
                e.end_date,
                e.completed_successfully,
                {m: getattr(e, m) for m in METRICS},
            )


def _iso_day(moment: datetime) -> int:
    return moment.astimezone(UTC).isoweekday()


RULE_DEFAULTS: dict[str, Any] = {
    "z_threshold": 3.0,
    "lookback_days": 30,
    "minimum_executions": 30,
    "active": True,
    "seasonality": "hour",
    "direction": "both",
}


class FakeAnomalies:
    def __init__(self, copies: FakeCopies) -> None:
        self._copies = copies
        self._ids = itertools.count(1)
        self.rules: dict[int, AnomalyRule] = {}
        self.results: dict[tuple[int, str], AnomalyResult] = {}

    async def insert_rule_if_absent(self, values: Mapping[str, Any]) -> int | None:
        if await self.rule_id(values["pipeline_id"], values["metric_field"]) is not None:
            return None
        rule_id = next(self._ids)
        fields = RULE_DEFAULTS | dict(values)
        self.rules[rule_id] = AnomalyRule(id=rule_id, created_at=datetime.now(UTC), updated_at=None, **fields)
        return rule_id

    async def rule_id(self, pipeline_id: int, metric_field: str) -> int | None:
        return next(
            (
                r.id
                for r in self.rules.values()
                if (r.pipeline_id, r.metric_field) == (pipeline_id, metric_field)
            ),
            None,
        )

    async def list_rules(self) -> list[AnomalyRule]:
        return [self.rules[i] for i in sorted(self.rules)]

    async def get_rule(self, rule_id: int) -> AnomalyRule | None:
        return self.rules.get(rule_id)

    async def update_rule(self, rule_id: int, values: Mapping[str, Any]) -> AnomalyRule | None:
        rule = self.rules.get(rule_id)
        if rule is None:
            return None
        updated = msgspec.structs.replace(rule, updated_at=datetime.now(UTC), **values)
        if any(
            (r.pipeline_id, r.metric_field) == (updated.pipeline_id, updated.metric_field)
            for r in self.rules.values()
            if r.id != rule_id
        ):
            raise Duplicate(constraint="uq_anomaly_rule_pipeline_id_metric_field")
        self.rules[rule_id] = updated
        return updated

    async def samples(self, execution_ids: Sequence[int]) -> list[RuleSample]:
        """What the SQL selects: each successful execution's active rules, its value and its baseline."""
        found: list[RuleSample] = []
        for execution_id in sorted(set(execution_ids)):
            m = self._copies.metrics.get(execution_id)
            if m is None or not m.completed_successfully:
                continue
            for rule in sorted(self.rules.values(), key=lambda r: r.id):
                if rule.pipeline_id == m.pipeline_id and rule.active:
                    found.append(self._sample(m, rule))
        return found

    def _sample(self, m: Metric, rule: AnomalyRule) -> RuleSample:
        field_ = rule.metric_field
        since = None if m.end_date is None else m.end_date - timedelta(days=rule.lookback_days)
        sample = [
            float(v)
            for h in self._copies.metrics.values()
            if h.pipeline_id == m.pipeline_id
            and h.hour_recorded == m.hour_recorded
            and h.completed_successfully
            and since is not None
            and m.end_date is not None
            and h.end_date is not None
            and since < h.end_date <= m.end_date
            and h.execution_id != m.execution_id
            and (rule.seasonality == "hour" or h.day_of_week == m.day_of_week)
            and (h.execution_id, field_) not in self.results
            and (v := h.values.get(field_)) is not None
        ]
        value = m.values.get(field_)
        return RuleSample(
            rule_id=rule.id,
            execution_id=m.execution_id,
            pipeline_id=m.pipeline_id,
            metric_field=field_,
            z_threshold=rule.z_threshold,
            lookback_days=rule.lookback_days,
            minimum_executions=rule.minimum_executions,
            seasonality=rule.seasonality,
            direction=rule.direction,
            hour_recorded=m.hour_recorded,
            day_of_week=m.day_of_week,
            value=None if value is None else float(value),
            n=len(sample),
            mean=statistics.fmean(sample) if sample else None,
            sd=statistics.stdev(sample) if len(sample) > 1 else None,
        )

    async def insert_results(self, results: Sequence[AnomalyResult]) -> set[tuple[int, str]]:
        stored: set[tuple[int, str]] = set()
        for r in results:
            key = (r.execution_id, r.metric_field)
            if key not in self.results:
                self.results[key] = r
                stored.add(key)
        return stored

    async def delete_results(
        self, pipeline_id: int, execution_id: int, metric_fields: Sequence[str]
    ) -> list[str]:
        gone = [
            key
            for key, r in self.results.items()
            if (r.pipeline_id, r.execution_id) == (pipeline_id, execution_id)
            and r.metric_field in metric_fields
        ]
        for key in gone:
            del self.results[key]
        return sorted({metric for _, metric in gone})


class FakeAlerts:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.alerts: dict[int, Alert] = {}

    async def insert_new(self, drafts: Sequence[AlertDraft]) -> list[Alert]:
        taken = {a.dedup_key for a in self.alerts.values()}
        raised: list[Alert] = []
        for d in sorted(drafts, key=lambda d: d.dedup_key):
            if d.dedup_key in taken:
                continue
            taken.add(d.dedup_key)
            alert = project(
                Alert,
                d,
                id=next(self._ids),
                resolved=False,
                resolved_at=None,
                resolve_action=None,
                created_at=datetime.now(UTC),
            )
            self.alerts[alert.id] = alert
            raised.append(alert)
        return raised

    def _visible(self, alert_id: int, data_sources: Sequence[int] | None) -> Alert | None:
        alert = self.alerts.get(alert_id)
        if alert is None or (data_sources is not None and alert.data_source_id not in data_sources):
            return None
        return alert

    async def get(self, alert_id: int, data_sources: Sequence[int] | None = None) -> Alert | None:
        return self._visible(alert_id, data_sources)

    async def walk(
        self, matching: AlertFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[Alert]:
        wanted = matching.columns()
        found = [
            a
            for i in sorted(self.alerts, reverse=not ascending)
            if (a := self._visible(i, matching.data_sources)) is not None
            and all(v is None or getattr(a, k) == v for k, v in wanted.items())
            and (from_id is None or (i >= from_id if ascending else i <= from_id))
        ]
        return found[:limit]

    async def resolve(
        self, alert_id: int, action: str | None, data_sources: Sequence[int] | None = None
    ) -> Alert | None:
        alert = self._visible(alert_id, data_sources)
        if alert is None or alert.resolved:
            return None
        resolved = msgspec.structs.replace(
            alert, resolved=True, resolved_at=datetime.now(UTC), resolve_action=action
        )
        self.alerts[alert_id] = resolved
        return resolved

    async def set_muted(
        self, alert_id: int, muted: bool, data_sources: Sequence[int] | None = None
    ) -> Alert | None:
        alert = self._visible(alert_id, data_sources)
        if alert is None:
            return None
        self.alerts[alert_id] = msgspec.structs.replace(alert, is_muted=muted)
        return self.alerts[alert_id]


class FakeDeliveries:
    """No channel exists in memory, so raising alerts queues nothing; the alerts offered are kept."""

    def __init__(self) -> None:
        self.offered: list[int] = []

    async def enqueue_for_alerts(self, alert_ids: Sequence[int]) -> int:
        self.offered.extend(alert_ids)
        return 0

    async def claim_due(self, limit: int) -> list[DueDelivery]:
        return []

    async def record(self, outcomes: Sequence[Attempted]) -> None:
        assert not outcomes, "nothing was claimed"

    async def seconds_until_next_due(self) -> float | None:
        return None

    async def fail_pending_of_channel(self, channel_id: int, reason: str) -> int:
        return 0

    async def list_for_channel(self, channel_id: int, limit: int) -> list[Delivery]:
        return []

    async def count_pending(self) -> int:
        return 0


class FakeUnitOfWork(testing.FakeUnitOfWork):
    """quality-alerting's unit of work in memory: copies, anomaly rules and results, alerts, deliveries."""

    copies: FakeCopies
    anomalies: FakeAnomalies
    alerts: FakeAlerts
    deliveries: FakeDeliveries
    channels: ports.Channels
    checks: ports.Checks
    fatal_errors: ports.FatalErrors
    retention: ports.Retention
    outbox_messages: ports.OutboxMessages

    def bind(self) -> None:
        self.copies = FakeCopies()
        self.anomalies = FakeAnomalies(self.copies)
        self.alerts = FakeAlerts()
        self.deliveries = FakeDeliveries()
        self.channels = cast(ports.Channels, testing.NotFaked("channels"))
        self.checks = cast(ports.Checks, testing.NotFaked("checks"))
        self.fatal_errors = cast(ports.FatalErrors, testing.NotFaked("fatal_errors"))
        self.retention = cast(ports.Retention, testing.NotFaked("retention"))
        self.outbox_messages = cast(ports.OutboxMessages, testing.NotFaked("outbox_messages"))


# -- execution facts ----------------------------------------------------------------------------------------------


def execution_ended(
    pipeline_id: int,
    start: datetime,
    *,
    execution_id: int,
    pipeline_name: str | None = None,
    total_rows: int | None = 1000,
    duration: int = 60,
    ok: bool = True,
) -> ExecutionEnded:
    """The end of a run as execution-tracking publishes it: `duration` seconds after `start`, with `total_rows`
    rows (and the throughput they make), successful unless not `ok`; named "pipeline <id>" unless named."""
    return ExecutionEnded(
        execution_id=execution_id,
        pipeline_id=pipeline_id,
        pipeline_name=pipeline_name or f"pipeline {pipeline_id}",
        pipeline_type_id=1,
        start_date=start,
        end_date=start + timedelta(seconds=duration),
        hour_recorded=start.hour,
        date_recorded=start.date(),
        completed_successfully=ok,
        duration_seconds=duration,
        total_rows=total_rows,
        throughput=None if total_rows is None else round(total_rows / duration, 4),
    )


# What the start of a run says that its end says again.
STARTED_FIELDS = (
    "execution_id",
    "pipeline_id",
    "pipeline_name",
    "start_date",
    "hour_recorded",
    "date_recorded",
)


def execution_started(end: ExecutionEnded) -> ExecutionStarted:
    """The start of the run that `end` ends, as execution-tracking published it before (an event of its own)."""
    return ExecutionStarted(**{name: getattr(end, name) for name in STARTED_FIELDS})


def alert_draft(pipeline_id: int, n: int, *, data_source_id: int | None = None) -> AlertDraft:
    """Occurrence `n` of a freshness warning about `pipeline_id`: a dedup key and a message ("alert <n>") of its
    own, the pipeline's one condition."""
    return AlertDraft(
        alert_type="freshness",
        severity="warning",
        msg=f"alert {n}",
        dedup_key=f"freshness:{pipeline_id}:{n}",
        condition_key=f"freshness:{pipeline_id}",
        pipeline_id=pipeline_id,
        data_source_id=data_source_id,
    )


async def write(engine: AsyncEngine, sql: str, /, **params: Any) -> None:
    """Run one SQL statement with `params` on the real database, committed: rows an integration test sets up where
    no use case writes them (the copies execution-tracking's events would leave) or ages on purpose."""
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


# -- a webhook receiver -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    name: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._scripts: dict[str, deque[int]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self.received: list[Received] = []
        self.port = 0

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hooks/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, name: str) -> str:
        return f"http://{self._host}:{self.port}/hooks/{name}"

    def answer(self, name: str, *statuses: int, delay: float = 0.0) -> None:
        """Answer the next requests to `name` with `statuses` in order (200 after them), `delay` s late."""
        self._scripts[name].extend(statuses)
        self._delays[name] = delay

    def requests(self, name: str) -> list[Received]:
        return [r for r in self.received if r.name == name]

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.received.append(Received(name, dict(request.headers), await request.read(), time.monotonic()))
        if delay := self._delays.get(name, 0.0):
            await asyncio.sleep(delay)
        script = self._scripts[name]
        status = script.popleft() if script else 200
        return web.Response(status=status, text="ok" if status < 300 else f"receiver says {status}")

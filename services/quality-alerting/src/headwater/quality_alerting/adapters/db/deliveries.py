"""Notification deliveries in Postgres: queued with their alerts, claimed by notifiers, their outcomes recorded."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from headwater.common.db.repository import Repository
from headwater.quality_alerting.domain.notifications import Attempted, Delivery, DueDelivery

DELIVERIES_CHANNEL = "quality_alerting_deliveries"  # NOTIFY wakes the notifiers when deliveries are queued

# Transactions that raise alerts of the same condition take turns from here to their commit, so the second
# sees the first's deliveries and suppresses its own (under READ COMMITTED each statement after the lock sees
# what the other committed). Locks are taken in key order, so two batches cannot deadlock on them. Only
# conditions some channel could suppress are locked.
LOCK_CONDITIONS = text(
    """
    SELECT pg_advisory_xact_lock(hashtextextended('quality_alerting.notify:' || s.condition_key, 0))
    FROM (
        SELECT DISTINCT a.condition_key FROM alert a
        WHERE a.id = ANY(CAST(:ids AS bigint[]))
          AND EXISTS (SELECT 1 FROM notification_channel c WHERE c.active AND c.suppression_minutes > 0)
        ORDER BY a.condition_key
    ) s
    """
)

# One delivery per (channel, alert) for every active channel whose scope covers the alert's pipeline and whose
# minimum severity it reaches. An alert raised without its pipeline's type gets it from pipeline_settings. A delivery is `suppressed` instead of `pending` when the channel has a
# suppression window and already got (or is getting) the same condition within it, or an earlier alert of this
# batch has it. Suppressed deliveries do not extend the window: a condition that keeps firing is sent once per
# window. A delivery that failed does not count: nobody was told.
ENQUEUE = text(
    """
    WITH candidates AS (
        SELECT c.id AS channel_id, a.id AS alert_id, a.condition_key, c.suppression_minutes,
               row_number() OVER (PARTITION BY c.id, a.condition_key ORDER BY a.id) AS nth
        FROM alert a
        LEFT JOIN pipeline_settings ps ON ps.pipeline_id = a.pipeline_id AND a.pipeline_type_id IS NULL
        JOIN notification_channel c
          ON c.active
         AND (c.scope = 'global'
              OR (c.scope = 'pipeline_type'
                  AND c.pipeline_type_id = COALESCE(a.pipeline_type_id, ps.pipeline_type_id))
              OR (c.scope = 'pipeline' AND c.pipeline_id = a.pipeline_id))
         AND array_position(ARRAY['info', 'warning', 'critical'], a.severity)
             >= array_position(ARRAY['info', 'warning', 'critical'], c.min_severity)
        WHERE a.id = ANY(CAST(:ids AS bigint[]))
    )
    INSERT INTO notification_delivery (channel_id, alert_id, condition_key, status)
    SELECT k.channel_id, k.alert_id, k.condition_key,
           CASE WHEN k.suppression_minutes > 0 AND (k.nth > 1 OR EXISTS (
                    SELECT 1 FROM notification_delivery d
                    WHERE d.channel_id = k.channel_id AND d.condition_key = k.condition_key
                      AND d.status IN ('pending', 'delivered')
                      AND d.created_at > now() - make_interval(mins => k.suppression_minutes)))
                THEN 'suppressed' ELSE 'pending' END
    FROM candidates k
    ORDER BY k.channel_id, k.alert_id
    ON CONFLICT (channel_id, alert_id) DO NOTHING
    RETURNING id, status
    """
)


# The due deliveries nobody else holds, with their channel and alert. The row locks are held while they are
# sent and until their outcomes are committed, so a second notifier skips them instead of sending them again.
CLAIM_DUE = text(
    """
    SELECT d.id, d.channel_id, d.alert_id, d.attempts,
           c.name AS channel_name, c.kind, c.url, c.secret, c.active AS channel_active,
           a.alert_type, a.severity, a.pipeline_id, a.pipeline_name, a.pipeline_type_id, a.execution_id,
           a.msg, a.body, a.condition_key, a.created_at
    FROM notification_delivery d
    JOIN notification_channel c ON c.id = d.channel_id
    JOIN alert a ON a.id = d.alert_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
    ORDER BY d.next_attempt_at, d.id
    LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED
    """
)


# A success keeps the error of the failed attempt before it (why it took several attempts).
RECORD = text(
    """
    UPDATE notification_delivery d SET
        status = r.status,
        attempts = r.attempts,
        last_error = CASE WHEN r.status = 'delivered' THEN d.last_error ELSE r.last_error END,
        last_status_code = r.last_status_code,
        next_attempt_at = CASE WHEN r.status = 'pending'
                               THEN clock_timestamp() + make_interval(secs => r.retry_in)
                               ELSE d.next_attempt_at END,
        delivered_at = CASE WHEN r.status = 'delivered' THEN clock_timestamp() ELSE d.delivered_at END
    FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:attempts AS integer[]),
                CAST(:errors AS text[]), CAST(:codes AS integer[]), CAST(:retry_in AS double precision[]))
         AS r(id, status, attempts, last_error, last_status_code, retry_in)
    WHERE d.id = r.id
    """
)


DELIVERY_COLUMNS = (
    "id, channel_id, alert_id, condition_key, status, attempts, last_error, last_status_code, "
    "next_attempt_at, delivered_at, created_at"
)


class Deliveries(Repository):
    """Notification deliveries: queued with their alerts, claimed by notifiers, their outcomes recorded."""

    async def enqueue_for_alerts(self, alert_ids: Sequence[int]) -> int:
        """Queue the deliveries of the new alerts `alert_ids`; the number queued as `pending`."""
        if not alert_ids:
            return 0
        ids = {"ids": list(alert_ids)}
        await self.conn.execute(LOCK_CONDITIONS, ids)
        rows = (await self.conn.execute(ENQUEUE, ids)).all()
        pending = sum(1 for r in rows if r.status == "pending")
        if pending:
            await self.conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERIES_CHANNEL})
        return pending

    async def claim_due(self, limit: int) -> list[DueDelivery]:
        """The due deliveries nobody else holds, locked until the transaction ends."""
        result = await self.conn.execute(CLAIM_DUE, {"limit": limit})
        return [DueDelivery(**row) for row in result.mappings()]

    async def record(self, outcomes: Sequence[Attempted]) -> None:
        if not outcomes:
            return
        await self.conn.execute(
            RECORD,
            {
                "ids": [o.delivery_id for o in outcomes],
                "statuses": [o.status for o in outcomes],
                "attempts": [o.attempts for o in outcomes],
                "errors": [o.last_error for o in outcomes],
                "codes": [o.last_status_code for o in outcomes],
                "retry_in": [o.retry_in for o in outcomes],
            },
        )

    async def seconds_until_next_due(self) -> float | None:
        """How long until the earliest pending delivery is due (<= 0: due now); None when nothing is pending."""
        value = (
            await self.conn.execute(
                text(
                    "SELECT EXTRACT(EPOCH FROM (min(next_attempt_at) - clock_timestamp())) "
                    "FROM notification_delivery WHERE status = 'pending'"
                )
            )
        ).scalar()
        return None if value is None else float(value)

    async def fail_pending_of_channel(self, channel_id: int, reason: str) -> int:
        """Give up the channel's pending deliveries (it was deactivated); how many."""
        result = await self.conn.execute(
            text(
                "UPDATE notification_delivery SET status = 'failed', last_error = :reason "
                "WHERE channel_id = :channel_id AND status = 'pending'"
            ),
            {"channel_id": channel_id, "reason": reason},
        )
        return result.rowcount

    async def list_for_channel(self, channel_id: int, limit: int) -> list[Delivery]:
        """The channel's newest deliveries first."""
        result = await self.conn.execute(
            text(
                f"SELECT {DELIVERY_COLUMNS} FROM notification_delivery WHERE channel_id = :channel_id "
                "ORDER BY id DESC LIMIT :limit"
            ),
            {"channel_id": channel_id, "limit": limit},
        )
        return [Delivery(**row) for row in result.mappings()]

    async def count_pending(self) -> int:
        result = await self.conn.execute(
            text("SELECT count(*) FROM notification_delivery WHERE status = 'pending'")
        )
        return int(result.scalar_one())

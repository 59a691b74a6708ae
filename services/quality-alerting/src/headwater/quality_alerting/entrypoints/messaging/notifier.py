"""The notifier: sends queued alert notifications, woken by LISTEN/NOTIFY or by the next retry's due time.

Several notifiers may run side by side (one per worker): each round claims its deliveries with
`FOR UPDATE SKIP LOCKED` and holds them until their outcomes are committed, so none is sent by two. A process
killed between a receiver's answer and that commit sends the delivery once more later (see `deliver_due`).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from headwater.common.logging import get_logger
from headwater.common.retry import Backoff
from headwater.quality_alerting.adapters.db.deliveries import DELIVERIES_CHANNEL
from headwater.quality_alerting.adapters.destinations import Destinations
from headwater.quality_alerting.adapters.http_sender import HttpSender
from headwater.quality_alerting.service_layer import notifications
from headwater.quality_alerting.service_layer.notifications import DeliveryPolicy
from headwater.quality_alerting.service_layer.ports import Sender
from headwater.quality_alerting.service_layer.unit_of_work import UnitOfWorkFactory
from headwater.quality_alerting.settings import Settings

log = get_logger(__name__)

BUSY_WAIT = 0.2  # seconds between looks while every due delivery is held by another notifier


class Notifier:
    """`run()` until `stop()` (or cancellation); `drain()` delivers everything due now, once."""

    def __init__(
        self,
        *,
        dsn: str,
        uow_factory: UnitOfWorkFactory,
        sender: Sender,
        policy: DeliveryPolicy,
    ) -> None:
        self._dsn = dsn
        self._uow_factory = uow_factory
        self._sender = sender
        self._policy = policy
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    @classmethod
    def from_settings(cls, settings: Settings, uow_factory: UnitOfWorkFactory, dsn: str) -> Notifier:
        return cls(
            dsn=dsn,
            uow_factory=uow_factory,
            sender=HttpSender(
                timeout=settings.notification_timeout_seconds,
                destinations=Destinations.parse(settings.webhook_allow),
            ),
            policy=DeliveryPolicy(
                max_attempts=settings.notification_attempts,
                backoff_seconds=settings.notification_backoff_seconds,
            ),
        )

    async def drain(self) -> int:
        """Deliver rounds until one comes back short; how many deliveries were attempted."""
        total = 0
        while not self._stopping.is_set():
            n = await notifications.deliver_due(self._uow_factory(), self._sender, self._policy)
            total += n
            if n < self._policy.batch_size:
                break
        return total

    async def run(self) -> None:
        listener: asyncpg.Connection | None = None
        backoff = Backoff(cap=30.0)  # while rounds fail (Postgres away, say)
        log.info("notifier_started")
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    if listener is None or listener.is_closed():
                        listener = await self._listen()
                    attempted = await self.drain()
                    due_in = await notifications.next_due_in(self._uow_factory())
                    poll = self._policy.poll_interval
                    wait = poll if due_in is None else min(poll, due_in)
                    if not attempted:
                        # Nothing claimed, so whatever is due now is held by another notifier: look again
                        # a moment later rather than in a busy loop.
                        wait = max(wait, BUSY_WAIT)
                    backoff.succeeded()
                except Exception as exc:
                    # Postgres away, say: keep trying; the deliveries wait in their table meanwhile.
                    wait = backoff.failed()
                    log.warning("notifier_round_failed", error=repr(exc), retry_in=wait)
                    if listener is not None:
                        with contextlib.suppress(Exception):
                            await listener.close()
                        listener = None
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()
            close = getattr(self._sender, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
            log.info("notifier_stopped")

    async def stop(self, task: asyncio.Task[None], grace: float) -> None:
        """Let the round in flight record its outcomes (up to `grace` seconds), then end `task`."""
        self._stopping.set()
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:  # a receiver slower than the grace: the round rolls back and is sent again later
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif not task.cancelled() and (exc := task.exception()) is not None:
            log.error("notifier_crashed", error=repr(exc))

    async def _listen(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(DELIVERIES_CHANNEL, lambda _conn, _pid, _channel, _payload: self._wake.set())
        return conn

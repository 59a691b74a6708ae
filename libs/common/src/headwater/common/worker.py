"""The `worker` process every service runs: Kafka subscribers, the outbox relay, the inbox purge and the
service's own background tasks, until SIGTERM; the Prometheus metrics of all of them on the worker's metrics
port."""

from __future__ import annotations

import asyncio
import contextlib
import io
import signal
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from prometheus_client import start_http_server

from headwater.common.db.engine import to_asyncpg_dsn
from headwater.common.gc_freeze import freeze_startup_objects
from headwater.common.logging import get_logger
from headwater.common.messaging.broker import create_broker, create_producer
from headwater.common.messaging.inbox import InboxPurge
from headwater.common.messaging.relay import OutboxRelay
from headwater.common.service import ServiceContainer
from headwater.common.settings import ServiceSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class Background:
    """A task of the service run beside the relay once Kafka is up. `run(stop)` should return soon after `stop`
    is set; `shutdown(task)` waits for it (with a grace of its own) before the relay drains."""

    name: str
    run: Callable[[asyncio.Event], Coroutine[object, object, None]]
    shutdown: Callable[[asyncio.Task[None]], Awaitable[None]] | None = None


class Subscribers(Protocol):
    """A service's `register_subscribers`: subscribes its handlers to the broker."""

    def __call__(
        self, broker: KafkaBroker, *, settings: Any, uow_factory: Any, producer: AIOKafkaProducer
    ) -> None: ...


@dataclass(frozen=True)
class Worker:
    """One service's worker: its container (settings, unit-of-work factory, what to close), its subscribers
    (none for a service that consumes nothing) and its background loops."""

    service: str
    schema: str
    container: ServiceContainer
    subscribers: Subscribers | None = None
    background: Sequence[Background] = field(default_factory=tuple)


def log_tasks() -> None:
    """Log where every task of the worker waits (`kill -USR1 <pid>`): what an operator asks a worker that stopped
    making progress without failing."""
    for task in asyncio.all_tasks():
        stack = io.StringIO()
        task.print_stack(limit=30, file=stack)
        log.warning("worker_task", task=task.get_name(), stack=stack.getvalue())


async def run(worker: Worker) -> None:
    """Start producer and broker (waiting for Kafka), the relay and the background tasks; on SIGTERM/SIGINT stop
    the background tasks, then the consumers, drain the relay and close everything."""
    container = worker.container
    settings: ServiceSettings = container.settings
    producer = create_producer(settings, service=worker.service)
    broker = create_broker(settings, service=worker.service)
    if worker.subscribers is not None:
        worker.subscribers(broker, settings=settings, uow_factory=container.uow_factory, producer=producer)
    relay = OutboxRelay(
        dsn=to_asyncpg_dsn(settings.database_url),
        schema=worker.schema,
        producer=producer,
        topic_prefix=settings.topic_prefix,
        source=f"headwater/{worker.service}",
        batch_size=settings.relay_batch_size,
    )
    inbox_purge = InboxPurge(
        dsn=to_asyncpg_dsn(settings.database_url),
        schema=worker.schema,
        retention_days=settings.inbox_retention_days,
    )
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, log_tasks)

    relay_task: asyncio.Task[None] | None = None
    if await _retry(producer.start, "producer", stop):
        # The relay needs the producer only: it drains the outbox at once, while the consumers below wait for
        # their groups to assign them partitions (aiokafka's start waits for that, and after a restart a group
        # may first wait out the session of the member that left; minutes with several groups on a slow broker).
        relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
    if relay_task is None or not await _retry(broker.start, "broker", stop):
        if relay_task is not None:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
        with contextlib.suppress(Exception):  # asked to stop while Kafka was still away
            await broker.stop()
            await producer.stop()
        await container.close()
        return
    backgrounds = [*worker.background, Background("inbox-purge", inbox_purge.run)]
    tasks = [(b, asyncio.create_task(b.run(stop), name=b.name)) for b in backgrounds]
    freeze_startup_objects()
    log.info("worker_started", topic_prefix=settings.topic_prefix, background=[b.name for b in backgrounds])
    try:
        await stop.wait()
    finally:
        log.info("worker_stopping")
        stop.set()
        for background, task in tasks:
            if background.shutdown is not None:
                await background.shutdown(task)
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        relay_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay_task
        await broker.stop()
        with contextlib.suppress(Exception):
            await relay.drain()
        await producer.stop()
        await container.close()


async def _retry(
    start: Callable[[], Awaitable[object]], what: str, stop: asyncio.Event, attempts: int = 60
) -> bool:
    """Start a Kafka client, retrying while the broker is away; False when asked to stop meanwhile."""
    for attempt in range(attempts):
        try:
            await start()
            return True
        except Exception as exc:
            if attempt == attempts - 1:
                raise
            log.warning("kafka_not_ready", component=what, error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
            if stop.is_set():
                return False
    return False

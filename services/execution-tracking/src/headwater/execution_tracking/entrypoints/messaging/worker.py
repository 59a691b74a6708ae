"""The `worker` process: Kafka subscribers and the outbox relay, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable

from prometheus_client import start_http_server

from headwater.common.db.engine import to_asyncpg_dsn
from headwater.common.heap import freeze_startup_objects
from headwater.common.logging import get_logger
from headwater.common.messaging.broker import create_broker, create_producer
from headwater.common.messaging.relay import OutboxRelay
from headwater.execution_tracking import SCHEMA, SERVICE
from headwater.execution_tracking.bootstrap import bootstrap
from headwater.execution_tracking.entrypoints.messaging.subscribers import register_subscribers

log = get_logger(__name__)


async def run_worker() -> None:
    container = bootstrap()
    settings = container.settings
    producer = create_producer(settings, service=SERVICE)
    broker = create_broker(settings, service=SERVICE)
    register_subscribers(broker, settings=settings, uow=container.uow, producer=producer)
    relay = OutboxRelay(
        dsn=to_asyncpg_dsn(settings.database_url),
        schema=SCHEMA,
        producer=producer,
        topic_prefix=settings.topic_prefix,
        source=f"headwater/{SERVICE}",
        batch_size=settings.relay_batch_size,
    )
    if settings.worker_metrics_port:
        start_http_server(
            settings.worker_metrics_port, addr=settings.worker_metrics_host
        )  # Prometheus: relay, consumers
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if not (await _retry(producer.start, "producer", stop) and await _retry(broker.start, "broker", stop)):
        with contextlib.suppress(Exception):  # asked to stop while Kafka was still away
            await broker.stop()
            await producer.stop()
        await container.close()
        return
    relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
    freeze_startup_objects()
    log.info("worker_started", topic_prefix=settings.topic_prefix)
    try:
        await stop.wait()
    finally:
        log.info("worker_stopping")
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

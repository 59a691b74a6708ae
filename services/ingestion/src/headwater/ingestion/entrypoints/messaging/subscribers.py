"""Subscribers of ingestion: each named for the reaction it performs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from headwater.common.events import FileStored, JobRunRequested
from headwater.common.messaging.batch import IngressBatch
from headwater.common.messaging.broker import Records, batch_subscription
from headwater.common.messaging.topics import prefixed
from headwater.ingestion.adapters.files import open_file
from headwater.ingestion.service_layer import files, ingestion_jobs, sensors, syncs
from headwater.ingestion.service_layer.ports import Buckets, Store, Warehouses
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork, UnitOfWorkFactory
from headwater.ingestion.settings import Settings

FILES_STORED = Counter("headwater_ingestion_file_stored_total", "file.stored events consumed", ["outcome"])
FILES_LANDED = Counter("headwater_ingress_files_total", "ingress.files messages consumed", ["outcome"])
RUNS_REQUESTED = Counter(
    "headwater_ingestion_job_run_requested_total", "job.run.requested events consumed", ["outcome"]
)


def subscribers_of(store: Store, warehouses: Warehouses, buckets: Buckets) -> Any:
    """`register_subscribers` of the worker, bound to the object store, the destination warehouses and the
    users' buckets that sensors list."""

    def register_subscribers(
        broker: KafkaBroker, *, settings: Settings, uow_factory: UnitOfWorkFactory, producer: AIOKafkaProducer
    ) -> None:
        async def ingest(uow: UnitOfWork, events: list[FileStored]) -> list[files.Rejected]:
            return await ingestion_jobs.ingest_stored_files(
                uow, store, warehouses, events, default_dsn=settings.warehouse_dsn, open_file=open_file
            )

        async def land(uow: UnitOfWork, messages: list[files.FileLanded]) -> list[files.Rejected]:
            return await files.record_landed_files(uow, store, messages)

        async def run_jobs(uow: UnitOfWork, requests: list[JobRunRequested]) -> list[files.Rejected]:
            await syncs.request_runs(uow, requests, datetime.now(UTC))  # kind `sync`: queued for the runner
            return await sensors.run_requested_sensors(uow, store, requests, buckets=buckets)

        requested = IngressBatch[JobRunRequested].of_events(
            JobRunRequested, consumer=sensors.CONSUMER, counter=RUNS_REQUESTED, record=run_jobs
        )
        stored = IngressBatch[FileStored].of_events(
            FileStored, consumer=ingestion_jobs.CONSUMER, counter=FILES_STORED, record=ingest
        )
        landed = IngressBatch[files.FileLanded](
            consumer="ingestion.ingress-files",
            counter=FILES_LANDED,
            decode=files.decode_file_landed,
            record=land,
            event_id=lambda message: message.uri,
        )

        @broker.subscriber(
            prefixed(settings.topic_prefix, "file.stored"),
            **batch_subscription(
                settings, group_id=settings.consumer_group, max_records=settings.ingest_batch_size
            ),
        )
        async def on_file_stored_ingest_file(records: Records) -> None:
            """Parse, validate and load each stored file; its job ends with `file.ingested` in the outbox.
            Offsets are committed after; a replayed event finds its job ended (or loads nothing twice)."""
            await stored.handle(records, uow_factory, producer)

        @broker.subscriber(
            prefixed(settings.topic_prefix, "ingress.files"),
            **batch_subscription(settings, group_id=settings.consumer_group, max_records=50),
        )
        async def on_file_landed_store_item(records: Records) -> None:
            """A file that landed in the object store becomes a stored item and is published; invalid messages
            go to `ingress.files.dlq`."""
            await landed.handle(records, uow_factory, producer)

        @broker.subscriber(
            prefixed(settings.topic_prefix, "job.run.requested"),
            **batch_subscription(settings, group_id=settings.consumer_group, max_records=10),
        )
        async def on_job_run_requested_run_job(records: Records) -> None:
            """The scheduler says a job is due: a data source's sensor lists its prefix and publishes the new
            files; a sync job's run is queued for the sync runner (requests of other kinds are passed over)."""
            await requested.handle(records, uow_factory, producer)

    return register_subscribers

"""Use cases of data source sensors: a data source watching a prefix on a cron (003's `schedule`, `s3_prefix` /
`gs_prefix`, `pattern`), of Headwater's object store or, when it names one (`s3_bucket` / `gs_bucket` with their
credentials), of a bucket of the user's.

A run lists the prefix, and each object not seen before (or changed since: another ETag or size) is copied to a
snapshot under its data source, becomes a stored item and is published for ingestion, through the same path as
a file landed on its own (`files.store_landed_object`). The objects seen are recorded per data source with their
version in the transaction that creates the stored item, so two runs at once, or a redelivered trigger, create
nothing twice. The cron itself is the scheduler's: every change of a sensor publishes `job.changed`, and the
scheduler's `job.run.requested` brings the run back here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from prometheus_client import Counter

from headwater.common.errors import Conflict, Invalid, NotFound, UseCaseError
from headwater.common.events import JobRunRequested
from headwater.common.logging import get_logger
from headwater.common.principal import SYSTEM, Principal
from headwater.ingestion.domain.metadata import Stored
from headwater.ingestion.domain.objects import ObjectInfo
from headwater.ingestion.domain.sensors import (
    Seen,
    SensorRun,
    SensorSettings,
    is_new,
    job_name,
    snapshot_key,
    version_of,
)
from headwater.ingestion.domain.storage_errors import BucketRefused, ObjectNotFound, StorageError
from headwater.ingestion.service_layer import files
from headwater.ingestion.service_layer.ports import Buckets, Store
from headwater.ingestion.service_layer.sensor_changes import publish_sensor_change, settings_of
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)

CONSUMER = "ingestion.sensors"

SENSOR_RUNS = Counter(
    "headwater_ingestion_sensor_runs_total", "Sensor runs, by trigger and outcome", ["trigger", "outcome"]
)
SENSOR_OBJECTS = Counter(
    "headwater_ingestion_sensor_objects_total",
    "New objects a sensor found: stored (a stored item made), raced (another run took it), empty, vanished",
    ["outcome"],
)


class StoreFailed(UseCaseError):
    """The object store could not be listed or read (unreachable, refused): the sensor run stopped."""

    status = 502


async def _source(
    uow: UnitOfWork, data_source_id: int, principal: Principal, *, lock: bool = False
) -> Stored:
    source = await uow.data_sources.get(data_source_id, principal.visible_data_sources, lock=lock)
    if source is None or source.state == "deleted":
        raise NotFound(f"data source {data_source_id} not found")
    return source


async def disable_sensor_cronjob(uow: UnitOfWork, data_source_id: int, principal: Principal = SYSTEM) -> str:
    """Disable Sensor Cronjob Now: the scheduler stops firing the sensor until the data source is saved again
    (Run Sensor Job Now still runs it)."""
    async with uow:
        source = await _source(uow, data_source_id, principal, lock=True)
        await publish_sensor_change(uow, source, cron_disabled=True)
        await uow.commit()
    return f"sensor cronjob {job_name(data_source_id)} disabled"


async def sensor_cronjob(uow: UnitOfWork, data_source_id: int, principal: Principal = SYSTEM) -> str:
    """The name of the data source's enabled sensor cronjob (what Run Sensor Cronjob Now makes due); Conflict
    (409) saying why when it has none."""
    async with uow:
        source = await _source(uow, data_source_id, principal)
        state = await uow.sensors.get(data_source_id)
    settings = settings_of(source.body)
    if settings.cron is None or settings.prefix is None:
        raise Conflict(
            f"data source {data_source_id} has no sensor cronjob: set its `schedule` (a cron expression) and "
            "`s3_prefix` (or `gs_prefix`), the prefix of the object store it watches"
        )
    if source.state != "active":
        raise Conflict(f"data source {data_source_id} is {source.state}: its sensor cronjob does not run")
    if state is not None and state.cron_disabled:
        raise Conflict(
            f"the sensor cronjob of data source {data_source_id} is disabled: save the data source to enable it"
        )
    return job_name(data_source_id)


async def _copy(watched: Store, obj: ObjectInfo, store: Store, target: str) -> tuple[int, str]:
    """Copy one object of the watched store to its snapshot key in Headwater's store; its size and SHA-256 as
    counted while the bytes passed."""
    chunks: AsyncIterator[bytes] = watched.open(obj.key)
    stored = await store.put(target, chunks)
    return stored.size, stored.sha256


def _watched(store: Store, buckets: Buckets, data_source_id: int, settings: SensorSettings) -> Store:
    """The store the sensor lists: Headwater's own, or the bucket of the user's the data source names."""
    if settings.bucket is None:
        return store
    try:
        return buckets.store_of(settings.bucket)
    except (BucketRefused, ValueError) as e:
        raise Invalid(
            f"the sensor of data source {data_source_id} cannot watch {settings.bucket.url}: {e}"
        ) from e


async def run_sensor(
    uow: UnitOfWork,
    store: Store,
    data_source_id: int,
    *,
    buckets: Buckets,
    principal: Principal = SYSTEM,
    trigger: str = "now",
) -> SensorRun:
    """Run Sensor Job Now (and each scheduled run): every new or changed object under the data source's prefix
    (of `store`, or of the user's bucket it names, reached through `buckets`) that matches its pattern is copied
    into `store`, becomes a stored item and is published for ingestion; what the run did."""
    async with uow:
        source = await _source(uow, data_source_id, principal)
    settings = settings_of(source.body)
    if settings.prefix is None:
        SENSOR_RUNS.labels(trigger, "refused").inc()
        raise Invalid(
            f"data source {data_source_id} watches no prefix: set `s3_prefix` (or `gs_prefix`) to the prefix of "
            "the object store its files land under"
        )
    try:
        watched = _watched(store, buckets, data_source_id, settings)
    except Invalid:
        SENSOR_RUNS.labels(trigger, "refused").inc()
        raise
    async with uow:
        seen = await uow.sensors.seen(data_source_id, settings.recorded_prefix)
    listed = 0
    new: list[ObjectInfo] = []
    stored: list[int] = []
    skipped: list[str] = []
    try:
        async for obj in watched.list(settings.prefix):
            listed += 1
            if settings.matches(obj.key) and is_new(obj, seen.get(settings.recorded_key(obj.key))):
                new.append(obj)
        for obj in sorted(new, key=lambda o: (o.last_modified, o.key)):
            item_id = await _take(uow, watched, store, source, obj, settings.recorded_key(obj.key))
            if item_id is None:
                skipped.append(obj.key)
            elif item_id > 0:
                stored.append(item_id)
    except StorageError as e:
        SENSOR_RUNS.labels(trigger, "store_failed").inc()
        log.warning("sensor_store_failed", data_source_id=data_source_id, store=watched.url, error=str(e))
        raise StoreFailed(
            f"the sensor of data source {data_source_id} could not read {watched.url}: {e}"
        ) from e
    run = SensorRun(
        data_source_id=data_source_id,
        job_name=job_name(data_source_id),
        listed=listed,
        new=len(new),
        stored_item_ids=stored,
        skipped=skipped,
    )
    async with uow:
        await uow.sensors.ran(data_source_id, datetime.now(UTC))
        await uow.commit()
    SENSOR_RUNS.labels(trigger, "ok").inc()
    log.info(
        "sensor_ran",
        data_source_id=data_source_id,
        trigger=trigger,
        listed=run.listed,
        new=run.new,
        stored=len(run.stored_item_ids),
        skipped=len(run.skipped),
    )
    return run


async def _take(
    uow: UnitOfWork, watched: Store, store: Store, source: Stored, obj: ObjectInfo, recorded_key: str
) -> int | None:
    """Turn one new object of `watched` into a stored item (its snapshot in `store`): its id; 0 when a racing run
    took this version first; None when it was skipped (empty, or gone before it could be read)."""
    target = snapshot_key(source.id, obj, recorded_key)
    try:
        size, sha256 = await _copy(watched, obj, store, target)
    except ObjectNotFound:
        SENSOR_OBJECTS.labels("vanished").inc()
        return None
    seen = Seen(key=recorded_key, etag=version_of(obj), size=obj.size)
    async with uow:
        if not await uow.sensors.record(source.id, seen):
            # another run recorded this version while this one copied it (to the same snapshot key)
            SENSOR_OBJECTS.labels("raced").inc()
            return 0
        if size == 0:
            await uow.commit()
            SENSOR_OBJECTS.labels("empty").inc()
            await store.delete(target)
            return None
        item = await files.store_landed_object(
            uow, source, key=target, size=size, sha256=sha256, file_name=obj.key.rsplit("/", 1)[-1]
        )
        if item is None:
            # the snapshot is a stored item already (its seen record was lost with a restore): nothing to add
            await uow.commit()
            SENSOR_OBJECTS.labels("raced").inc()
            return 0
        await uow.sensors.link(source.id, recorded_key, item.id)
        await uow.commit()
    SENSOR_OBJECTS.labels("stored").inc()
    log.info(
        "sensor_object_stored",
        data_source_id=source.id,
        key=recorded_key,
        size=size,
        sha256=sha256,
        stored_item_id=item.id,
    )
    return item.id


async def run_requested_sensors(
    uow: UnitOfWork, store: Store, requests: list[JobRunRequested], *, buckets: Buckets
) -> list[files.Rejected]:
    """The scheduler's `job.run.requested` of kind `sensor`: run each data source's sensor once per request
    (the inbox skips a redelivered one; the seen objects make a rerun after a crash harmless). A data source
    that was deleted, no longer watches a prefix or watches a bucket it may not, and a watched store that cannot
    be read (wrong keys, a missing bucket), are logged and skipped, not dead-lettered: the next due run tries
    again."""
    for request in requests:
        if request.kind != "sensor" or request.data_source_id is None:
            continue
        async with uow:
            fresh = await uow.claim(CONSUMER, [str(request.event_id)])
            # no commit: only look; the claim is written once the run is done
        if not fresh:
            continue
        try:
            await run_sensor(uow, store, request.data_source_id, buckets=buckets, trigger="schedule")
        except (NotFound, Invalid, StoreFailed) as e:
            SENSOR_RUNS.labels("schedule", "skipped").inc()
            log.warning("sensor_run_skipped", job=request.job, due_at=request.due_at, reason=e.detail)
        async with uow:
            await uow.claim(CONSUMER, [str(request.event_id)])
            await uow.commit()
    return []

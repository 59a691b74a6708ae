"""A data source's sensor changed: its fields validated and its `job.changed` published, in the transaction of
the data source's write (the metadata use cases call this; the sensor runs are in `sensors`)."""

from __future__ import annotations

from typing import Any

from headwater.common.errors import Invalid
from headwater.common.events import JobChanged
from headwater.common.logging import get_logger
from headwater.ingestion.domain.metadata import Stored
from headwater.ingestion.domain.sensors import InvalidSensor, SensorSettings, job_name, sensor_settings
from headwater.ingestion.service_layer.unit_of_work import UnitOfWork

log = get_logger(__name__)


def settings_of(body: dict[str, Any], *, saving: bool = False) -> SensorSettings:
    """The sensor of a data source's fields; `Invalid` (422) naming the field when one cannot work (`saving`:
    the bucket fields only once the data source has a schedule)."""
    try:
        return sensor_settings(body, saving=saving)
    except InvalidSensor as e:
        raise Invalid(str(e)) from e


async def publish_sensor_change(uow: UnitOfWork, source: Stored, *, cron_disabled: bool = False) -> None:
    """In the caller's transaction, after a data source was written: its sensor one version further and its
    `job.changed`. Saving a data source switches a cron disabled by Disable Sensor Cronjob Now back on (as
    saving a Qluster data source deploys its cronjob again). A data source that never had a cron publishes
    nothing."""
    if source.state == "deleted":
        # its fields no longer matter (nor are they checked again): the schedule goes
        if await uow.sensors.get(source.id) is not None:
            state = await uow.sensors.change(source.id, cron_disabled=True)
            uow.publish(
                JobChanged(
                    job=job_name(source.id),
                    version=state.version,
                    enabled=False,
                    removed=True,
                    data_source_id=source.id,
                )
            )
            log.info(
                "sensor_removed", data_source_id=source.id, job=job_name(source.id), version=state.version
            )
        return
    settings = settings_of(source.body, saving=True)
    if settings.cron is None and await uow.sensors.get(source.id) is None:
        return
    state = await uow.sensors.change(source.id, cron_disabled=cron_disabled)
    enabled = (
        source.state == "active"
        and settings.cron is not None
        and settings.prefix is not None
        and not state.cron_disabled
    )
    uow.publish(
        JobChanged(
            job=job_name(source.id),
            version=state.version,
            cron=settings.cron,
            enabled=enabled,
            data_source_id=source.id,
        )
    )
    log.info(
        "sensor_changed",
        data_source_id=source.id,
        job=job_name(source.id),
        version=state.version,
        cron=settings.cron,
        enabled=enabled,
    )

"""Internal API of data source sensors (spec 003): Run Sensor Job Now, the check of Run Sensor Cronjob Now (the
gateway then makes the scheduler's schedule due), Disable Sensor Cronjob Now."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.contracts.qluster_metadata import SensorCronjob, SensorJobRun
from headwater.common.http import caller
from headwater.ingestion.domain.sensors import job_name
from headwater.ingestion.entrypoints.http.deps import BucketsDep, Caller, StoreDep, UowFactory
from headwater.ingestion.service_layer import sensors


class SensorController(Controller):
    tags = ["sensors"]
    dependencies = {"principal": Provide(caller, sync_to_thread=False)}

    @post(Paths.RUN_SENSOR_JOB_NOW, status_code=HTTP_200_OK)
    async def run_now(
        self,
        data_source_model_id: FromPath[int],
        uow_factory: UowFactory,
        store: StoreDep,
        buckets: BucketsDep,
        principal: Caller,
    ) -> SensorJobRun:
        run = await sensors.run_sensor(
            uow_factory(), store, data_source_model_id, buckets=buckets, principal=principal
        )
        found = f"{len(run.stored_item_ids)} new file(s)"
        if run.stored_item_ids:
            found += (
                " published for ingestion (stored items " + ", ".join(map(str, run.stored_item_ids)) + ")"
            )
        return SensorJobRun(
            result=f"{run.job_name} ran: {run.listed} object(s) listed, {found}",
            job_name=run.job_name,
            listed=run.listed,
            new=run.new,
            stored_item_ids=run.stored_item_ids,
            skipped=run.skipped,
        )

    @post(Paths.RUN_SENSOR_CRONJOB_NOW, status_code=HTTP_200_OK)
    async def cronjob_now(
        self, data_source_model_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> SensorCronjob:
        """The sensor's cronjob if it can run (409 saying why not); the gateway then asks the scheduler."""
        job = await sensors.sensor_cronjob(uow_factory(), data_source_model_id, principal)
        return SensorCronjob(result=f"{job} will run now", job_name=job)

    @post(Paths.DISABLE_SENSOR_CRONJOB_NOW, status_code=HTTP_200_OK)
    async def disable_cronjob(
        self, data_source_model_id: FromPath[int], uow_factory: UowFactory, principal: Caller
    ) -> SensorCronjob:
        result = await sensors.disable_sensor_cronjob(uow_factory(), data_source_model_id, principal)
        return SensorCronjob(result=result, job_name=job_name(data_source_model_id))


CONTROLLERS: list[Any] = [SensorController]

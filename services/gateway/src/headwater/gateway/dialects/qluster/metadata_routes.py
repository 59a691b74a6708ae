"""Qluster routes of ingestion's metadata (spec 003): datasets, destinations, data sources and
per-field validation info, validated here and forwarded to the ingestion service under the same paths.

Spec 003 names operations, not paths; the paths are its nouns (README: Qluster, metadata routes)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, Parameter, QueryParameter

from headwater.common.contracts.paths import IngestionPaths as Paths
from headwater.common.contracts.paths import SchedulerPaths
from headwater.common.contracts.qluster import Page
from headwater.common.contracts.qluster_metadata import (
    BooleanResult,
    ConfirmDelete,
    Dataset,
    DatasetExtraDetails,
    DatasetHistory,
    DatasetPage,
    DatasetPatch,
    DatasetPost,
    DatasetStats,
    DataSourcePatch,
    DataSourcePost,
    DataSourceTiny,
    Destination,
    DestinationPage,
    DestinationPatch,
    DestinationPost,
    FieldValidation,
    SensorCronjob,
    SensorJobRun,
    TextResult,
)
from headwater.common.contracts.scheduler import ScheduleDue
from headwater.common.contracts.types import BIGINT_MAX
from headwater.common.principal import SYSTEM
from headwater.gateway.dialects.deps import Caller, Service
from headwater.gateway.dialects.forward import Forwarding

Cursor = Annotated[int | None, QueryParameter(ge=-BIGINT_MAX - 1, le=BIGINT_MAX)]
Limit = Annotated[int, QueryParameter(ge=1, le=1000)]
Reference = Annotated[int | None, QueryParameter(ge=1, le=BIGINT_MAX)]
PAGING: dict[str, tuple[Any, Any]] = {
    "start": (Cursor, None),
    "end": (Cursor, None),
    "limit": (Limit, 20),
    "reverse": (FromQuery[bool], True),
}
PAGING_NOTE = (
    "Cursor pagination as Get Alerts: `start` (walk up from an id) or `end` (down to one), not both; `limit` "
    "(20); `reverse` (true: newest first); `next` and `previous` are the query parameters of the neighbouring "
    "pages. A `limited_to_source` user sees only its data sources (and their datasets)."
)

datasets = Forwarding("to_ingestion", "Datasets")
destinations = Forwarding("to_ingestion", "Destinations")
data_sources = Forwarding("to_ingestion", "Data sources")

SENSOR_NOTE = (
    "A data source's sensor watches the prefix `s3_prefix` (`gs_prefix` for a `gs` data source) of its own bucket "
    "when it names one (`s3_bucket` with `s3_endpoint_url`, `s3_region_name`, `s3_access_key`, `s3_secret_key`; "
    "`gs_bucket` with `gs_service_account_key`), of Headwater's object store otherwise; files whose name matches "
    "`pattern` (a regular expression, in full) and that are new or changed (another ETag or size) are copied into "
    "Headwater's store and become stored items, published for ingestion, each once."
)


@post(
    Paths.RUN_SENSOR_CRONJOB_NOW,
    tags=[data_sources.tag],
    summary="Run Sensor Cronjob Now",
    responses={200: ResponseSpec(SensorCronjob, description="the sensor cronjob made due")},
    description="The data source's sensor cronjob (its `schedule`, kept by the scheduler) is made due now and "
    "runs within a second or two, once, like a scheduled run. 409 when the data source has no enabled sensor "
    "cronjob (no `schedule` or prefix, not active, or disabled by Disable Sensor Cronjob Now), or when the "
    "scheduler has not received its latest change yet (retry in a moment). " + SENSOR_NOTE,
    status_code=200,
)
async def run_sensor_cronjob_now(
    data_source_model_id: Annotated[int, Parameter(ge=1, le=BIGINT_MAX)],
    principal: Caller,
    ingestion: Service,
    scheduler: Service,
) -> Response[Any]:
    path = Paths.RUN_SENSOR_CRONJOB_NOW.replace("{data_source_model_id:int}", str(data_source_model_id))
    checked = await ingestion.call("POST", path, principal=principal)
    if checked.status != 200:
        return Response(content=checked.body, status_code=checked.status, media_type=checked.content_type)
    job = msgspec.json.decode(checked.body, type=SensorCronjob)
    # ingestion checked the caller may run this data source's sensor; the schedule itself is the system's
    made_due = await scheduler.call(
        "POST", SchedulerPaths.RUN_SCHEDULE_NOW.replace("{name:str}", job.job_name), principal=SYSTEM
    )
    if made_due.status == 404:
        return Response(
            content={"detail": f"the scheduler has no schedule for {job.job_name} yet: retry in a moment"},
            status_code=409,
        )
    if made_due.status != 200:
        return Response(content=made_due.body, status_code=made_due.status, media_type=made_due.content_type)
    due = msgspec.json.decode(made_due.body, type=ScheduleDue)
    return Response(
        content=SensorCronjob(
            result=f"{job.job_name} is due at {due.due_at.isoformat()}", job_name=job.job_name
        ),
        status_code=200,
    )


ROUTES = [
    run_sensor_cronjob_now,
    data_sources.route(
        post,
        Paths.RUN_SENSOR_JOB_NOW,
        "run_sensor_job_now",
        SensorJobRun,
        summary="Run Sensor Job Now",
        description="Runs the data source's sensor once, now, and answers what it found: `result`, and beyond "
        "Qluster `listed`, `new`, `stored_item_ids` (published for ingestion) and `skipped` (empty files). 422 "
        "when the data source watches no prefix, or names a bucket its fields or the operator's settings do not "
        "let the sensor reach; 502 when the watched store cannot be read. " + SENSOR_NOTE,
        status_code=200,
    ),
    data_sources.route(
        post,
        Paths.DISABLE_SENSOR_CRONJOB_NOW,
        "disable_sensor_cronjob_now",
        SensorCronjob,
        summary="Disable Sensor Cronjob Now",
        description="The scheduler stops running the data source's sensor on its `schedule` until the data "
        "source is saved again (Patch Data Source Model); Run Sensor Job Now still runs it.",
        status_code=200,
    ),
    datasets.route(
        get,
        Paths.DATASETS,
        "get_datasets",
        DatasetPage,
        query={**PAGING, "states": (FromQuery[list[str] | None], None), "destination_id": (Reference, None)},
        summary="Get Datasets",
        description=f"{PAGING_NOTE} `states`: active and disabled unless named (active, disabled, deleted).",
    ),
    datasets.route(
        post,
        Paths.DATASETS,
        "post_dataset",
        Dataset,
        data=DatasetPost,
        summary="Post Dataset",
        status_code=200,
    ),
    datasets.route(
        patch,
        Paths.DATASETS,
        "patch_dataset",
        Dataset,
        data=DatasetPatch,
        summary="Patch Dataset",
        description="`version_id` (and the settings model's, when sent) must be the current one, or 409.",
    ),
    datasets.route(get, Paths.NEW_DATASET, "get_new_dataset", Dataset, summary="Get New Dataset"),
    datasets.route(get, Paths.DATASET, "get_dataset", Dataset, summary="Get Dataset"),
    datasets.route(
        get, Paths.DATASET_HISTORY, "get_dataset_history", DatasetHistory, summary="Get Dataset History"
    ),
    datasets.route(get, Paths.DATASET_STATS, "get_dataset_stats", DatasetStats, summary="Get Dataset Stats"),
    datasets.route(get, Paths.DATASET_COPY, "get_a_dataset_copy", Dataset, summary="Get A Dataset Copy"),
    datasets.route(
        post,
        Paths.DATASET_COPY,
        "post_dataset_copy",
        Dataset,
        data=DatasetPost,
        summary="Post Dataset Copy",
        status_code=200,
    ),
    datasets.route(
        get,
        Paths.DATASET_EXTRA_DETAILS,
        "get_dataset_extra_details",
        DatasetExtraDetails,
        summary="Get Dataset Extra Details",
    ),
    datasets.route(
        get,
        Paths.DATASET_TRAINING_JOB_RUNNING,
        "get_dataset_any_training_job_running",
        BooleanResult,
        summary="Get Dataset Any Training Job Running",
        description="Always false: Headwater runs no training jobs.",
    ),
    datasets.route(
        delete,
        Paths.DATASET,
        "delete_dataset",
        TextResult,
        data=ConfirmDelete,
        summary="Delete Dataset",
        description="`name` must be the dataset's; it and its data sources become `deleted`.",
        status_code=200,
    ),
    datasets.route(
        get,
        Paths.FIELD_VALIDATION,
        "get_dataset_validation_info_for_one_field",
        FieldValidation,
        summary="Get Dataset Validation Info For One Field",
    ),
    datasets.route(
        post,
        Paths.FIELD_VALIDATION,
        "update_dataset_validation_info_for_one_field",
        TextResult,
        data=FieldValidation,
        summary="Update Dataset Validation Info For One Field",
        status_code=200,
    ),
    destinations.route(
        get,
        Paths.DESTINATIONS,
        "get_destinations",
        DestinationPage,
        query=PAGING,
        summary="Get Destinations",
        description=PAGING_NOTE,
    ),
    destinations.route(
        post,
        Paths.DESTINATIONS,
        "post_destination_model",
        Destination,
        data=DestinationPost,
        summary="Post Destination Model",
        status_code=200,
    ),
    destinations.route(
        patch,
        Paths.DESTINATIONS,
        "patch_destination_model",
        Destination,
        data=DestinationPatch,
        summary="Patch Destination Model",
        description="A password sent back obfuscated (`********`) keeps the stored one.",
    ),
    destinations.route(
        get, Paths.NEW_DESTINATION, "get_new_destination", Destination, summary="Get New Destination"
    ),
    destinations.route(
        get,
        Paths.DESTINATION,
        "get_one_destination",
        Destination,
        summary="Get One Destination",
        description="The password is obfuscated.",
    ),
    data_sources.route(
        get,
        Paths.DATA_SOURCES,
        "get_data_sources",
        Page,
        query={**PAGING, "dataset_id": (Reference, None), "states": (FromQuery[list[str] | None], None)},
        summary="Get Data Sources",
        description=f"{PAGING_NOTE} `states`: active, disabled and draft unless named.",
    ),
    data_sources.route(
        post,
        Paths.DATA_SOURCES,
        "post_data_source_model",
        dict[str, Any],
        data=DataSourcePost,
        summary="Post Data Source Model",
        status_code=200,
    ),
    data_sources.route(
        patch,
        Paths.DATA_SOURCE,
        "patch_data_source_model",
        dict[str, Any],
        data=DataSourcePatch,
        summary="Patch Data Source Model",
        description="`version_id` must be the current one, or 409; secrets sent back obfuscated are kept.",
    ),
    data_sources.route(get, Paths.DATA_SOURCE, "get_data_source", dict[str, Any], summary="Get Data Source"),
    data_sources.route(
        get, Paths.DATA_SOURCE_TINY, "get_data_source_tiny", DataSourceTiny, summary="Get Data Source Tiny"
    ),
    data_sources.route(
        get,
        Paths.DATA_SOURCE_HISTORY,
        "get_data_source_history",
        list[dict[str, Any]],
        summary="Get Data Source History",
    ),
    data_sources.route(
        get,
        Paths.NEW_DATA_SOURCE,
        "get_new_data_source_for_dataset",
        dict[str, Any],
        summary="Get New Data Source For Dataset",
    ),
    data_sources.route(
        get,
        Paths.DATA_SOURCE_COPY_FOR_DATASET,
        "get_a_data_source_copy_for_dataset",
        dict[str, Any],
        summary="Get A Data Source Copy For Dataset",
    ),
    data_sources.route(
        post,
        Paths.DATA_SOURCE_COPY,
        "post_copy_data_source_model",
        dict[str, Any],
        data=DataSourcePost,
        summary="Post Copy Data Source Model",
        status_code=200,
    ),
    data_sources.route(
        delete,
        Paths.DATA_SOURCE,
        "delete_data_source",
        TextResult,
        data=ConfirmDelete,
        summary="Delete Data Source",
        description="`name` must be the data source's; it becomes `deleted`.",
        status_code=200,
    ),
    data_sources.route(
        get,
        Paths.DATA_SOURCE_VALIDATION_MODEL,
        "get_data_source_validation_model",
        list[list[Any]],
        summary="Get Data Source Validation Model",
        description="A header row, then one row per field of its dataset's validation info.",
    ),
]

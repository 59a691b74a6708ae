"""The internal HTTP paths of each service, spelled once: the service's controllers serve them and the gateway
forwards to them (most public paths are the same as the internal ones, so `forward()` passes the request's own
path on). Full paths in Litestar's syntax; several methods may share one path."""

from __future__ import annotations

from typing import Final


class ExecutionTrackingPaths:
    """Pipelines, executions, addresses and lineage (Watcher spec 000, our lineage queries, OpenLineage)."""

    PIPELINE_TYPES: Final = "/pipeline_type"
    PIPELINE_TYPE: Final = "/pipeline_type/{pipeline_type_id:int}"
    PIPELINES: Final = "/pipeline"
    PIPELINE: Final = "/pipeline/{pipeline_id:int}"
    START_EXECUTION: Final = "/start_pipeline_execution"
    END_EXECUTION: Final = "/end_pipeline_execution"
    EXECUTION: Final = "/pipeline_execution/{pipeline_execution_id:int}"
    ADDRESS_TYPES: Final = "/address_type"
    ADDRESS_TYPE: Final = "/address_type/{address_type_id:int}"
    ADDRESSES: Final = "/address"
    ADDRESS: Final = "/address/{address_id:int}"
    ADDRESS_LINEAGE: Final = "/address_lineage"
    LINEAGE_OF_ADDRESS: Final = "/lineage/address/{address_id:int}"
    LINEAGE_OF_PIPELINE: Final = "/lineage/pipeline/{pipeline_id:int}"
    OPENLINEAGE: Final = "/api/v1/lineage"
    LOG_CLEANUP: Final = "/log_cleanup"


class QualityAlertingPaths:
    """Alerts and fatal errors (Qluster spec 003), anomaly detection rules (Watcher spec 000) and notification
    channels."""

    ALERTS: Final = "/alerts"
    ALERT: Final = "/alerts/{alert_item_id:int}"
    RESOLVE_ALERT: Final = "/alerts/{alert_item_id:int}/resolve"
    MUTE_ALERT: Final = "/alerts/{alert_item_id:int}/mute"
    ERRORS: Final = "/errors"
    ERROR: Final = "/errors/{error_id:int}"
    ANOMALY_DETECTION_RULES: Final = "/anomaly_detection_rule"
    ANOMALY_DETECTION_RULE: Final = "/anomaly_detection_rule/{anomaly_detection_rule_id:int}"
    UNFLAG_ANOMALY: Final = "/unflag_anomaly"
    NOTIFICATION_CHANNELS: Final = "/api/v1/notification_channels"
    NOTIFICATION_CHANNEL: Final = "/api/v1/notification_channels/{channel_id:int}"
    NOTIFICATION_DELIVERIES: Final = "/api/v1/notification_channels/{channel_id:int}/deliveries"
    TEST_NOTIFICATION_CHANNEL: Final = "/api/v1/notification_channels/{channel_id:int}/test"
    LOG_CLEANUP: Final = "/log_cleanup"


class SchedulerPaths:
    """The Watcher checks (spec 000, Monitoring & Health) and the schedule listing."""

    FRESHNESS: Final = "/freshness"
    TIMELINESS: Final = "/timeliness"
    MONITOR_QUEUE: Final = "/celery/monitor-queue"
    SCHEDULES: Final = "/schedules"  # public at /api/v1/schedules
    # Internal only: make a job's schedule due now (Qluster's Run Sensor Cronjob Now, after ingestion's check).
    RUN_SCHEDULE_NOW: Final = "/schedules/{name:str}/run-now"


class IngestionPaths:
    """Qluster (spec 003) served by ingestion: datasets, destinations, data sources, validation info, their data,
    stored items (files) and ingestion jobs."""

    DATASETS: Final = "/datasets"
    NEW_DATASET: Final = "/datasets/new"
    DATASET: Final = "/datasets/{dataset_id:int}"
    DATASET_HISTORY: Final = "/datasets/{dataset_id:int}/history"
    DATASET_STATS: Final = "/datasets/{dataset_id:int}/stats"
    DATASET_COPY: Final = "/datasets/{dataset_id:int}/copy"
    DATASET_EXTRA_DETAILS: Final = "/datasets/{dataset_id:int}/extra-details"
    DATASET_TRAINING_JOB_RUNNING: Final = "/datasets/{dataset_id:int}/any-training-job-running"
    FIELD_VALIDATION: Final = "/datasets/{dataset_id:int}/validation_info/{field_name:str}"
    NEW_DATA_SOURCE: Final = "/datasets/{dataset_id:int}/data-sources/new"
    DATA_SOURCE_COPY_FOR_DATASET: Final = (
        "/datasets/{dataset_id:int}/data-sources/{data_source_model_id:int}/copy"
    )
    DESTINATIONS: Final = "/destinations"
    NEW_DESTINATION: Final = "/destinations/new"
    DESTINATION: Final = "/destinations/{destination_id:int}"
    DATA_SOURCES: Final = "/data-sources"
    DATA_SOURCE: Final = "/data-sources/{data_source_model_id:int}"
    DATA_SOURCE_TINY: Final = "/data-sources/{data_source_model_id:int}/tiny"
    DATA_SOURCE_HISTORY: Final = "/data-sources/{data_source_model_id:int}/history"
    DATA_SOURCE_COPY: Final = "/data-sources/{data_source_model_id:int}/copy"
    DATA_SOURCE_VALIDATION_MODEL: Final = "/data-sources/{data_source_model_id:int}/validation-model"
    # A data source's sensor: run it once now, make its scheduled run due now, switch its cron off.
    RUN_SENSOR_JOB_NOW: Final = "/data-sources/{data_source_model_id:int}/run-sensor-job-now"
    RUN_SENSOR_CRONJOB_NOW: Final = "/data-sources/{data_source_model_id:int}/run-sensor-cronjob-now"
    DISABLE_SENSOR_CRONJOB_NOW: Final = "/data-sources/{data_source_model_id:int}/disable-sensor-cronjob-now"
    # Qluster's data: a dataset's rows and bad rows, the menu's counts, the service's queue messages.
    DATA: Final = "/datasets/{dataset_id:int}/data"
    IGNORE_LINE_SIGNATURE: Final = "/datasets/{dataset_id:int}/ignore_line_signature"
    REPROCESS_BAD_ROWS: Final = "/datasets/{dataset_id:int}/reprocess-bad-rows"
    MENU_STATS: Final = "/menu-stats"
    QUEUE_MSGS: Final = "/queue-msgs"
    QUEUE_MSG: Final = "/queue-msgs/{msg_id:int}"
    RESCHEDULE_QUEUE_MSGS: Final = "/queue-msgs/reschedule"
    # Qluster's files: stored items (uploaded, published, ignored) and the ingestion jobs that ingest them.
    STORED_ITEMS: Final = "/stored-items"
    STORED_ITEM: Final = "/stored-items/{stored_item_id:int}"
    UPLOAD: Final = "/stored-items/upload"  # a direct upload, streamed (beyond 003)
    TOKEN_UPLOAD: Final = "/stored-items/{stored_item_id:int}/upload"  # a local store's signed upload URL
    PUBLISH: Final = "/stored-items/{stored_item_id:int}/publish"
    INGESTION_JOBS: Final = "/ingestion-jobs"
    INGESTION_JOB: Final = "/ingestion-jobs/{ingestion_job_id:int}"
    RUN_INGESTION_JOB: Final = "/ingestion-jobs/{ingestion_job_id:int}/run"
    KILL_INGESTION_JOB: Final = "/ingestion-jobs/{ingestion_job_id:int}/kill"
    # Syncs (OLake, the Data Ingestion API): connector forms, a project's sources and destinations, jobs, runs.
    CONNECTOR_TYPES: Final = "/syncs/{role:str}/types"
    CONNECTOR_SPEC: Final = "/syncs/{role:str}/types/{kind:str}/spec"
    CHECK_CONNECTION: Final = "/syncs/{role:str}/check"
    DISCOVER: Final = "/syncs/sources/discover"
    CONNECTIONS: Final = "/syncs/projects/{project_id:str}/connections/{role:str}"
    CONNECTION: Final = "/syncs/projects/{project_id:str}/connections/{role:str}/{connection_id:int}"
    JOBS: Final = "/syncs/projects/{project_id:str}/jobs"
    JOB: Final = "/syncs/projects/{project_id:str}/jobs/{job_id:int}"
    SYNC_NOW: Final = "/syncs/projects/{project_id:str}/jobs/{job_id:int}/sync"
    CANCEL_SYNC: Final = "/syncs/projects/{project_id:str}/jobs/{job_id:int}/cancel"
    JOB_RUNS: Final = "/syncs/projects/{project_id:str}/jobs/{job_id:int}/runs"
    RUN_LOGS: Final = "/syncs/projects/{project_id:str}/jobs/{job_id:int}/runs/{run_id:str}/logs"

"""The Qluster dialect (spec 003) for alerts (list with cursor pagination, get, resolve, mute) and fatal errors
(list with the same pagination, create, get, delete)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from headwater.common.contracts.types import NAMED, STORABLE, Id, Text, check_metadata, storable_json

# The actions spec 003 lists for resolving an alert.
ResolveAction = Literal[
    "apply_migration", "discard_migration", "rerun_training", "expand_fields", "override_model",
    "edit_destination_settings", "go_to_migration_review", "check_learning_jobs", "edit_settings",
    "edit_data_source_model_settings", "review_migration_again", "put_file_for_learning", "mark_data_as_valid",
    "set_value_to_null", "set_value_to_null_for_field", "set_value_to_null_for_source",
    "set_value_to_null_for_field_for_source", "set_value_to_true", "set_value_to_true_for_field",
    "set_value_to_true_for_source", "set_value_to_true_for_field_for_source", "set_value_to_false",
    "set_value_to_false_for_field", "set_value_to_false_for_source", "set_value_to_false_for_field_for_source",
    "define_datetime_format", "define_datetime_format_for_field", "define_datetime_format_for_source",
    "define_datetime_format_for_field_for_source", "infer_datetime_format_for_field",
    "infer_datetime_format_for_field_for_source", "allow_multi_datetime_formats",
    "allow_multi_formats_n_define_datetime_format", "allow_multi_formats_n_define_datetime_format_for_field",
    "allow_multi_formats_n_define_datetime_format_for_source",
    "allow_multi_formats_n_define_datetime_format_for_field_for_source", "not_a_datetime_field", "try_again",
    "hide", "ignore_file", "ignore_alert_associated_files", "ignore_row", "ignore_row_for_file",
    "validation_add_a_new_keyword", "validation_rename_to_existing_keyword", "reprocess_file",
    "proceed_with_sheet_name", "download_file",
]  # fmt: skip

AlertLimit = Annotated[int, Meta(ge=1, le=1000)]
JobType = Literal["job", "cronjob"]


class Alert(Struct, kw_only=True):
    """An alert as Qluster clients read it. Pipeline alerts (anomaly, freshness, timeliness, queue backlog)
    carry their pipeline, execution and severity; Qluster's file-oriented fields keep neutral values."""

    id: int
    alert_type: str
    severity: str
    msg: str
    body: dict[str, Any]
    pipeline_id: int | None
    pipeline_name: str | None
    execution_id: int | None
    resolved: bool
    is_muted: bool
    created_at: datetime
    resolved_at: datetime | None
    resolve_action: str | None
    expired_at: datetime | None = None
    count: int = 1
    dataset_id: int | None = None
    dataset_name: str | None = None
    data_source_model_id: int | None = None
    data_source_model_name: str | None = None
    field_name: str | None = None
    field_value: str | None = None
    resolve_after_migration: bool = False
    blocks_learning: bool = False
    blocks_ingestion_for_dataset: bool = False
    blocks_ingestion_for_data_source: bool = False
    blocks_stored_item: bool = False
    resolvable_by_user: bool = True
    alert_actions: list[str] = []
    stored_items_to_alerts: list[int] = []
    related_urls: list[str] = []


class Page(Struct, kw_only=True):
    """Qluster's envelope of a listing: `next` / `previous` are the query parameters of the neighbouring
    pages (null at either end), `filters` those applied. A listing names its `results` and `title`."""

    next: dict[str, Any] | None
    previous: dict[str, Any] | None
    results: list[Any]
    filters: dict[str, Any]
    title: str


class AlertPage(Page, kw_only=True):
    """`next` / `previous`: the query parameters of the neighbouring pages, null at either end."""

    results: list[Alert]
    title: str = "Alerts"


class AlertResolve(Struct, kw_only=True):
    new_datetime_format: Text = ""
    sheet_name: Text = ""
    action: ResolveAction | None = None
    new_fields_actions: dict[str, Any] | None = None
    line_signature: Text | None = None

    def __post_init__(self) -> None:
        storable_json("new_fields_actions", self.new_fields_actions)


class AlertResolved(Struct, kw_only=True):
    redirect_post_submit_to: str = ""


class AlertMute(Struct, kw_only=True):
    is_muted: bool = True


# -- fatal errors -------------------------------------------------------------------------------------------------

JobName = Annotated[str, Meta(max_length=253, pattern=STORABLE)]  # a Kubernetes job name at most
ErrorName = Annotated[str, Meta(max_length=300, pattern=NAMED)]
ModuleName = Annotated[str, Meta(max_length=100, pattern=NAMED)]
LongText = Annotated[str, Meta(max_length=100_000, pattern=STORABLE)]  # messages and stack traces


class FatalErrorCreate(Struct, kw_only=True):
    """Create Fatal Error. A report of an error not deleted yet with the same module, error, job and data
    source / stored item adds to that error's `count` instead of creating another."""

    job_name: JobName | None = None
    job_type: JobType | None = None
    error: ErrorName
    module: ModuleName
    msg: LongText
    stack_trace: LongText = ""
    data_source_model_id: Id | None = None
    settings_model_id: Id | None = None
    alert_item_id: Id | None = None
    stored_item_id: Id | None = None
    meta_data: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        storable_json("meta_data", self.meta_data)
        check_metadata("meta_data", self.meta_data)


class FatalError(Struct, kw_only=True):
    """A fatal error as Qluster clients read it."""

    job_name: str | None
    job_type: JobType | None
    error: str
    module: str
    msg: str
    stack_trace: str = ""
    data_source_model_id: int | None
    settings_model_id: int | None
    alert_item_id: int | None
    stored_item_id: int | None
    meta_data: dict[str, Any]
    id: int
    count: int
    dataset_id: int | None
    created_at: datetime
    deleted: bool


class FatalErrorPage(Page, kw_only=True):
    """`next` / `previous`: the query parameters of the neighbouring pages, null at either end."""

    results: list[FatalError]
    title: str = "Errors"


class FatalErrorDelete(Struct, kw_only=True, omit_defaults=True):
    """Delete Fatal Error: every error not deleted yet that equals all the fields given (at least one)."""

    id: Id | None = None
    job_name: JobName | None = None
    job_type: JobType | None = None
    error: ErrorName | None = None

    def __post_init__(self) -> None:
        if (self.id, self.job_name, self.job_type, self.error) == (None, None, None, None):
            raise ValueError("name the errors to delete: `id`, `job_name`, `job_type` or `error`")

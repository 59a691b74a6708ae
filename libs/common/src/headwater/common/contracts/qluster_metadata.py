"""The Qluster dialect (spec 003) for ingestion's metadata: datasets (with their settings model), destinations,
data sources (with their parse settings) and per-field validation info.

Field names and enumerations are spec 003's. Writes use `UNSET` for a field the request did not send, so a
PATCH changes exactly the fields it names and a POST leaves the rest to the template (`GET .../new`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from headwater.common.contracts.qluster import Page
from headwater.common.contracts.types import NAMED, STORABLE, Count, Id, Text, storable_json

Required = Annotated[str, Meta(min_length=1, max_length=255, pattern=NAMED)]  # a name, schema or table
LongText = Annotated[str, Meta(max_length=65536, pattern=STORABLE)]  # keys, certificates, stack traces
Texts = Annotated[list[Text], Meta(max_length=1000)]
Json = dict[str, Any]

MigrationPolicy = Literal["ask_user", "apply_asap", "migration_window", "locked"]
CompressionType = Literal["gzip", "zip", "snappy_stream"]
DataLoadingProcess = Literal["replace", "upsert", "snapshot"]
DatasetState = Literal["active", "disabled", "deleted"]
DataSourceType = Literal["s3", "minio", "sftp", "gs", "dropbox", "stream", "custom"]
DataSourceState = Literal["active", "draft", "disabled", "deleted"]
XLSDateMode = Literal["mode_0", "mode_1"]
JobType = Literal["job", "cronjob"]
JsonSchemaFieldType = Literal["string", "email", "integer", "number", "boolean", "array", "object"]

# The masked value answered in place of a secret; sent back unchanged in a PATCH, it keeps the stored secret.
OBFUSCATED = "********"


def _require(struct: Struct, *names: str) -> None:
    for name in names:
        if getattr(struct, name) is UNSET:
            raise ValueError(f"Object missing required field `{name}`")


def _check_json(struct: Struct, *names: str) -> None:
    for name in names:
        value = getattr(struct, name)
        if value is not UNSET:
            storable_json(name, value)


# -- datasets ----------------------------------------------------------------------------------------------------


class DatasetSettings(Struct, kw_only=True):
    """Fields a dataset's POST and PATCH share (spec 003: DataSetPostRequestSchema / its PATCH)."""

    name: Required | UnsetType = UNSET
    migration_policy: MigrationPolicy | UnsetType = UNSET
    encrypt_raw_data_during_backup: bool | UnsetType = UNSET
    compression_type_of_backup_data: CompressionType | UnsetType = UNSET
    backup_key_format: Text | UnsetType = UNSET
    destinations_list: Annotated[list[list[Any]], Meta(max_length=100)] | UnsetType = UNSET
    data_loading_process: DataLoadingProcess | UnsetType = UNSET
    should_reprocess: bool | UnsetType = UNSET
    max_retry_count: Count | UnsetType = UNSET
    redirect_post_submit_to: Text | UnsetType = UNSET
    strictly_one_datetime_format_in_a_column: bool | UnsetType = UNSET
    guess_datetime_format_in_ingestion: bool | UnsetType = UNSET
    successful_rows_count: Count | UnsetType = UNSET
    bad_rows_count: Count | UnsetType = UNSET
    max_tries_to_fix_json: Count | UnsetType = UNSET
    whodunit_id: str | UnsetType | None = UNSET
    settings_model: Json | UnsetType = UNSET

    def __post_init__(self) -> None:
        _check_json(self, "destinations_list", "settings_model")


class DatasetPost(DatasetSettings, kw_only=True):
    """Post Dataset (and Post Dataset Copy): name, schema_name, database_name and table_name required."""

    schema_name: Required
    database_name: Required
    table_name: Required
    backup_settings_id: int | None = None
    destination_id: Id | None = None
    disabled_fields: Texts | UnsetType = UNSET

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self, "name")


class DatasetPatch(DatasetSettings, kw_only=True):
    """Patch Dataset: `id` and the `version_id` the client read are required (a stale version is a 409)."""

    id: Id
    version_id: Count


class Dataset(Struct, kw_only=True):
    """A dataset as Qluster clients read it, with its settings model (`id`, `version_id` and its settings)."""

    id: int
    version_id: int
    name: str | None
    schema_name: str | None
    database_name: str | None
    table_name: str | None
    migration_policy: str | None
    state: str
    encrypt_raw_data_during_backup: bool | None
    compression_type_of_backup_data: str | None
    backup_key_format: str | None
    backup_settings_list: list[Any]
    backup_settings_id: int | None
    destination_id: int | None
    destinations_list: list[Any]
    data_loading_process: str | None
    should_reprocess: bool | None
    max_retry_count: int | None
    redirect_post_submit_to: str
    strictly_one_datetime_format_in_a_column: bool | None
    guess_datetime_format_in_ingestion: bool | None
    successful_rows_count: int
    bad_rows_count: int
    disabled_fields: list[str]
    max_tries_to_fix_json: int | None
    whodunit_id: str | None
    settings_model: Json


class DatasetPage(Page, kw_only=True):
    results: list[Dataset]
    title: str = "Datasets"


class DatasetHistory(Struct, kw_only=True):
    """Get Dataset History: every version of the dataset and of its settings model, oldest first."""

    dataset_history: list[Json]
    settings_model_history: list[Json]


class DatasetStats(Struct, kw_only=True):
    bad_rows_count: int


class DatasetExtraDetails(Dataset, kw_only=True):
    current_migration_model_id: int | None
    destination_name: str | None
    unresolved_alerts: int


class BooleanResult(Struct, kw_only=True):
    result: bool


class TextResult(Struct, kw_only=True):
    result: str


class ConfirmDelete(Struct, kw_only=True):
    """Delete Dataset / Delete Data Source: the name of what is deleted, as a confirmation."""

    name: Annotated[str, Meta(max_length=255, pattern=STORABLE)]


# -- destinations ------------------------------------------------------------------------------------------------


class DestinationFields(Struct, kw_only=True):
    name: Text | UnsetType = UNSET
    database_name: Required | UnsetType = UNSET
    host: Text | UnsetType = UNSET
    user: Text | UnsetType = UNSET
    port: Annotated[str, Meta(max_length=5, pattern=r"^[0-9]*$")] | UnsetType = UNSET
    password: Text | UnsetType = UNSET
    connect_timeout: Annotated[int, Meta(ge=0, le=3600)] | UnsetType = UNSET
    redirect_post_submit_to: Text | UnsetType = UNSET


class DestinationPost(DestinationFields, kw_only=True):
    """Post Destination Model: the credentials of a Postgres database (`destination_type` postgresql)."""

    destination_type: Literal["postgresql"]

    def __post_init__(self) -> None:
        _require(self, "database_name")


class DestinationPatch(DestinationFields, kw_only=True):
    id: Id


class Destination(Struct, kw_only=True):
    """A destination as answered: its password obfuscated."""

    id: int
    name: str | None
    destination_type: str
    database_name: str | None
    updated_at: datetime | None
    host: str | None
    user: str | None
    port: str | None
    password: str | None
    connect_timeout: int | None
    created_at: datetime | None
    redirect_post_submit_to: str


class DestinationPage(Page, kw_only=True):
    results: list[Destination]
    title: str = "Destinations"


# -- data sources ------------------------------------------------------------------------------------------------


class ParseSettings(Struct, kw_only=True):
    """How a data source's files are read (spec 003's names; `_override` fields override the dataset's
    settings model for this data source)."""

    encoding_probably: Text | UnsetType | None = UNSET
    identify_header_by_column_names: Texts | UnsetType | None = UNSET
    raw_headers: Texts | UnsetType | None = UNSET
    chunk_size_to_read_for_header: Count | UnsetType | None = UNSET
    pattern: Text | UnsetType | None = UNSET
    archive_pattern: Text | UnsetType | None = UNSET
    csv_delimiter: Text | UnsetType | None = UNSET
    csv_quotechar: Text | UnsetType | None = UNSET
    csv_escapechar: Text | UnsetType | None = UNSET
    csv_lineterminator: Text | UnsetType | None = UNSET
    ignore_column_ids: Texts | UnsetType | None = UNSET
    excel_sheet_name: Text | UnsetType | None = UNSET
    datetime_formats_per_column_override: Json | UnsetType | None = UNSET
    should_reprocess_override: bool | UnsetType | None = UNSET
    xls_date_mode_override: XLSDateMode | UnsetType | None = UNSET
    null_values_override: Texts | UnsetType | None = UNSET
    null_values_per_column_override: Json | UnsetType | None = UNSET
    boolean_true_override: Texts | UnsetType | None = UNSET
    boolean_false_override: Texts | UnsetType | None = UNSET
    datetime_allowed_characters_override: Text | UnsetType | None = UNSET
    datetime_formats_override: Texts | UnsetType | None = UNSET
    array_delimiters_override: Texts | UnsetType | None = UNSET
    field_name_full_conversion_override: Json | UnsetType | None = UNSET
    field_name_part_conversion_override: Json | UnsetType | None = UNSET
    ignore_lines_that_include_only_subset_of_characters_override: Texts | UnsetType | None = UNSET
    ignore_lines_that_include_only_subset_of_words_override: Texts | UnsetType | None = UNSET
    ignore_matchers_override: Json | UnsetType | None = UNSET
    ignore_column_names_override: Texts | UnsetType | None = UNSET
    use_text_instead_of_string_override: bool | UnsetType | None = UNSET
    quarantine_row_if_row_level_issue_override: bool | UnsetType | None = UNSET
    trim_string_instead_of_raising_err_override: bool | UnsetType | None = UNSET
    fields_to_expand_override: Texts | UnsetType | None = UNSET
    infer_datetime_for_columns_override: Texts | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        _check_json(
            self,
            "datetime_formats_per_column_override",
            "null_values_per_column_override",
            "field_name_full_conversion_override",
            "field_name_part_conversion_override",
            "ignore_matchers_override",
        )


# The connection settings of a data source that are secrets: answered as OBFUSCATED.
DATA_SOURCE_SECRETS = (
    "s3_secret_key",
    "sftp_password",
    "sftp_ssh_key",
    "sftp_ssh_key_passphrase",
    "gs_service_account_key",
    "gpg_private_key",
    "gpg_passphrase",
    "file_password",
    "dropbox_access_token",
)


class DataSourceFields(ParseSettings, kw_only=True):
    """Fields a data source's POST and PATCH share: where its files come from, and how they are read."""

    name: Required | UnsetType = UNSET
    dataset_name: Text | UnsetType | None = UNSET
    settings_model_id: Id | UnsetType = UNSET
    dataset_id: Id | UnsetType = UNSET
    data_source_type: DataSourceType | UnsetType | None = UNSET
    schedule: Text | UnsetType | None = UNSET
    state: DataSourceState | UnsetType = UNSET
    connection_timeout: Count | UnsetType | None = UNSET
    delete_source_file_after_backup: bool | UnsetType | None = UNSET
    bad_rows_count: Count | UnsetType = UNSET
    s3_access_key: Text | UnsetType | None = UNSET
    s3_secret_key: Text | UnsetType | None = UNSET
    s3_endpoint_url: Text | UnsetType | None = UNSET
    s3_region_name: Text | UnsetType | None = UNSET
    s3_default_buffer_size: Count | UnsetType | None = UNSET
    s3_bucket: Text | UnsetType | None = UNSET
    s3_prefix: Text | UnsetType | None = UNSET
    sftp_host: Text | UnsetType | None = UNSET
    sftp_port: Annotated[int, Meta(ge=0, le=65535)] | UnsetType | None = UNSET
    sftp_user: Text | UnsetType | None = UNSET
    sftp_password: Text | UnsetType | None = UNSET
    sftp_ssh_key: LongText | UnsetType | None = UNSET
    sftp_ssh_key_passphrase: Text | UnsetType | None = UNSET
    sftp_folder: Text | UnsetType | None = UNSET
    gs_service_account_key: LongText | UnsetType | None = UNSET
    gs_bucket: Text | UnsetType | None = UNSET
    gs_prefix: Text | UnsetType | None = UNSET
    gpg_private_key: LongText | UnsetType | None = UNSET
    gpg_passphrase: Text | UnsetType | None = UNSET
    file_password: Text | UnsetType | None = UNSET
    dropbox_access_token: Text | UnsetType | None = UNSET
    dropbox_folder: Text | UnsetType | None = UNSET
    redirect_post_submit_to: Text | UnsetType = UNSET


class DataSourcePost(DataSourceFields, kw_only=True):
    """Post Data Source Model (and Post Copy Data Source Model): `name` and `settings_model_id` required."""

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self, "name", "settings_model_id")


class DataSourcePatch(DataSourceFields, kw_only=True):
    id: Id
    version_id: Count


DATA_SOURCE_FIELDS = tuple(
    f for f in DataSourceFields.__struct_fields__ if f not in ("redirect_post_submit_to",)
)
PARSE_SETTINGS_FIELDS = tuple(ParseSettings.__struct_fields__)


class DataSourceTiny(Struct, kw_only=True):
    id: int
    last_sync: datetime | None
    destination_name: str | None
    dataset_id: str
    unresolved_alerts: int
    state: str


# -- validation info ---------------------------------------------------------------------------------------------

Bound = int | float


class FieldValidation(Struct, kw_only=True):
    """The validation rules of one field of a dataset (JSON Schema underneath)."""

    to_include: bool = True
    is_required: bool = False
    json_schema_field_type: JsonSchemaFieldType
    limit_to_values: Annotated[list[str | int | float], Meta(max_length=10000)] | None = None
    maximum: Bound | None = None
    minimum: Bound | None = None
    allowed_json_schema_field_type: list[JsonSchemaFieldType] | None = None

    def __post_init__(self) -> None:
        if self.maximum is not None and self.minimum is not None and self.minimum > self.maximum:
            raise ValueError("`minimum` is greater than `maximum`")
        storable_json("limit_to_values", self.limit_to_values)


# Get Data Source Validation Model: a header row, then one row per field.
VALIDATION_MODEL_HEADER = [
    "field_name",
    "field_type_in_db",
    "validation_type",
    "is_required",
    "minimum",
    "maximum",
    "the_only_acceptable_values",
]


class SensorJobRun(Struct, kw_only=True):
    """Run Sensor Job Now: 003's `result`, and what the run did (objects listed under the prefix, new or changed
    ones matching the pattern, the stored items they became, new ones skipped as empty or gone)."""

    result: str
    job_name: str
    listed: int
    new: int
    stored_item_ids: list[int]
    skipped: list[str]


class SensorCronjob(Struct, kw_only=True):
    """Run / Disable Sensor Cronjob Now: 003's `result`, and the name of the sensor's job (its schedule)."""

    result: str
    job_name: str

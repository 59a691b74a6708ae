"""Where a dataset's rows live and how they are checked: its table (`table_for`), the destination database and
schema it is in (`target_for`), its fields' rules (`rules_of`) and a data source's parse settings
(`parse_settings_of`). The HTTP use cases and the worker that ingests files both go through these.

A dataset's table is in the destination configured on the dataset (its `destination_id`), or, without one, in
the settings' `warehouse_dsn`; the schema is the dataset's `schema_name`. The table is the dataset's
`table_name`, beside it `<table_name>__quarantine` holds its bad rows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from headwater.common.errors import Invalid
from headwater.ingestion.domain.metadata import Stored
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.domain.validation import FieldRule

QUARANTINE_SUFFIX = "__quarantine"
# A Postgres name holds at most 63 bytes, and the quarantine table's name adds its suffix.
MAX_TABLE_BYTES = 63 - len(QUARANTINE_SUFFIX)


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """The database (DSN), schema and table of a dataset's rows."""

    dsn: str
    schema: str
    table: str


def _name(value: Any, what: str, dataset: Stored, max_bytes: int) -> str:
    if not isinstance(value, str) or not value or "\x00" in value or len(value.encode()) > max_bytes:
        raise Invalid(
            f"dataset {dataset.id}: its {what} {value!r} cannot name a Postgres {what.split('_')[0]} (1 to "
            f"{max_bytes} bytes); change it with Patch Dataset"
        )
    return value


def table_for(dataset: Stored) -> str:
    """The name of the dataset's table in its destination: its `table_name` (else `dataset_<id>`)."""
    return _name(
        dataset.body.get("table_name") or f"dataset_{dataset.id}", "table_name", dataset, MAX_TABLE_BYTES
    )


def schema_for(dataset: Stored) -> str:
    """The schema of the dataset's table: its `schema_name` (else `public`)."""
    return _name(dataset.body.get("schema_name") or "public", "schema_name", dataset, 63)


def dsn_of(destination: Stored, database_name: str | None) -> str:
    """A Postgres DSN from a destination's connection settings; `database_name` (the dataset's) wins over the
    destination's own."""
    body = destination.body
    if body.get("destination_type", "postgresql") != "postgresql":
        raise Invalid(f"destination {destination.id}: only postgresql destinations are loaded into")
    host, database = body.get("host"), database_name or body.get("database_name")
    if not host or not database:
        raise Invalid(f"destination {destination.id}: its host and database_name are needed to reach it")
    user, password = body.get("user") or "", body.get("password") or ""
    login = quote(str(user), safe="") + (":" + quote(str(password), safe="") if password else "")
    port = str(body.get("port") or "5432")
    if not port.isdigit():
        raise Invalid(f"destination {destination.id}: port {port!r} is not a number")
    # (`connect_timeout` stays out: asyncpg would send it to the server as a setting; the pools bound connects.)
    at = f"{login}@" if login else ""
    return f"postgresql://{at}{quote(str(host), safe='')}:{port}/{quote(str(database), safe='')}"


def target_for(dataset: Stored, destination: Stored | None, default_dsn: str) -> Target:
    """Where the dataset's rows are: its destination (`default_dsn` when it has none), schema and table."""
    dsn = default_dsn if destination is None else dsn_of(destination, dataset.body.get("database_name"))
    return Target(dsn=dsn, schema=schema_for(dataset), table=table_for(dataset))


def rules_of(validations: dict[str, dict[str, Any]]) -> list[FieldRule]:
    """The dataset's per-field validation info (as stored) as the engine's rules, in field-name order."""
    rules: list[FieldRule] = []
    for field_name, stored in validations.items():
        try:
            rules.append(msgspec.convert(stored | {"field_name": field_name}, FieldRule))
        except (msgspec.ValidationError, ValueError) as e:
            raise Invalid(
                f"the validation info of the field {field_name!r} cannot be applied: {e}; update it"
            ) from e
    return rules


PARSE_SETTINGS_NAMES = frozenset(ParseSettings.__struct_fields__)


def parse_settings_of(data_source: Stored | None, dataset: Stored | None = None) -> ParseSettings:
    """A data source's parse settings: the dataset's settings model gives the defaults (its `boolean_true` is
    the default of the data source's `boolean_true_override`), the data source's own non-null fields win, and
    ParseSettings' defaults fill the rest (also for no data source)."""
    given: dict[str, Any] = {}
    model: dict[str, Any] = dict(dataset.body.get("settings_model") or {}) if dataset is not None else {}
    for name, value in model.items():
        target = name if name in PARSE_SETTINGS_NAMES else f"{name}_override"
        if target in PARSE_SETTINGS_NAMES and value is not None:
            given[target] = value
    if data_source is not None:
        given |= {k: v for k, v in data_source.body.items() if k in PARSE_SETTINGS_NAMES and v is not None}
    try:
        return msgspec.convert(given, ParseSettings)
    except (msgspec.ValidationError, ValueError) as e:
        which = f"data source {data_source.id}" if data_source is not None else "the dataset"
        raise Invalid(f"{which}: its parse settings cannot be applied: {e}") from e

"""The Postgres destination: tables made from the batches' Arrow schema, rows loaded with COPY, upserts by primary
key, full refreshes swapped in at commit.

One `write` call is one transaction, so the rows of a call are all there or none are (a sync saves its state
after `write` returns, and a killed sync leaves nothing half-written). Inside it:

- append to a table without a primary key: COPY straight into the table;
- append to a table with a primary key: COPY into a temporary staging table, then `INSERT ... SELECT DISTINCT ON
  (key) ... ON CONFLICT (key) DO UPDATE`, so writing the same rows again changes nothing (the last row of a key
  in the input wins);
- overwrite: COPY everything into the staging table, and only then, at the end of the same transaction, empty
  the table and fill it from staging. Readers see the old rows until the commit and the new ones after, and the
  table keeps its indexes, grants and dependent views (a rename swap would leave those on the old table);
- a table that does not exist yet, whatever the mode: created in the transaction (invisible until the commit),
  loaded with COPY straight, and given its primary key at the end, keeping the last row read of a key that
  came twice (one index build, each row written once: a first sync goes at COPY's speed).

A batch bringing a column the table lacks adds it (columns are never dropped nor retyped); values arrive as CSV
(pyarrow's writer, no Python per row except for binary and nested columns) and Postgres parses them with the
column's own type, so an existing `integer` column takes the Arrow `int64` rows that fit it.
"""

from __future__ import annotations

import asyncio
import io
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from msgspec import Meta

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.destinations_common import (
    ROWS_WRITTEN,
    SECRET,
    WRITES,
    form_of,
    parse_config,
)
from headwater.ingestion.adapters.warehouse.postgres import quote_ident
from headwater.ingestion.arrow import Array, DataType, RecordBatch, pa, pa_csv, pc
from headwater.ingestion.domain.connectors import CheckFailed, WriteFailed, WriteSummary, WriteTarget

log = get_logger(__name__)

KIND = "postgres"
CONNECT_SECONDS = 7.0
"""Connecting and the check's query stay under the 10 s a form's "test connection" waits."""
QUERY_SECONDS = 2.0
STAGING_ORDER = "_hw_row"
"""The staging table's row number: among rows of one key, the last one read wins."""

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PostgresDestinationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Postgres database the rows are written into."""

    host: Annotated[str, Meta(title="Host", min_length=1, max_length=255)]
    port: Annotated[int, Meta(title="Port", ge=1, le=65535)] = 5432
    database: Annotated[str, Meta(title="Database", min_length=1, max_length=63)]
    username: Annotated[str, Meta(title="Username", min_length=1, max_length=63)]
    password: Annotated[str, Meta(title="Password", extra_json_schema=SECRET)] = ""
    schema: Annotated[
        str,
        Meta(
            title="Schema",
            description="Where tables go when a stream names no namespace (created when missing)",
            min_length=1,
            max_length=63,
        ),
    ] = "public"
    ssl: Annotated[SslMode, Meta(title="SSL mode", description="As libpq's sslmode")] = "prefer"


def _connect_failure(exc: BaseException, config: PostgresDestinationConfig) -> CheckFailed:
    """What went wrong while connecting, in words a user can act on."""
    where = f"{config.host}:{config.port}"
    if isinstance(exc, socket.gaierror):
        return CheckFailed("unreachable_host", f"cannot resolve the host {config.host!r}: check its name")
    if isinstance(exc, ConnectionRefusedError):
        return CheckFailed(
            "connection_refused", f"{where} refused the connection: is Postgres listening on that port?"
        )
    if isinstance(exc, TimeoutError):
        return CheckFailed(
            "timeout",
            f"no answer from {where} within {CONNECT_SECONDS:.0f} s: check the host, the port and any firewall",
        )
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return CheckFailed("bad_credentials", f"password authentication failed for user {config.username!r}")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        if "no encryption" in str(exc):
            return CheckFailed(
                "tls_required", f"{where} accepts only encrypted connections: set ssl to require"
            )
        return CheckFailed("bad_credentials", f"the server refused user {config.username!r}: {exc}")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return CheckFailed("not_found", f"database {config.database!r} does not exist on {where}")
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return CheckFailed("unavailable", f"{where} has no free connection: {exc}")
    if isinstance(exc, ssl.SSLError):
        return CheckFailed("tls_failed", f"TLS with {where} failed: {exc}")
    if isinstance(exc, ConnectionError) and "SSL" in str(exc):
        return CheckFailed("invalid_config", f"{where} does not offer TLS: set ssl to prefer or disable")
    if isinstance(exc, OSError):
        return CheckFailed("unreachable_host", f"cannot reach {where}: {exc.strerror or exc}")
    return CheckFailed("connection_failed", f"cannot connect to {where}: {exc}")


async def connect(config: PostgresDestinationConfig) -> asyncpg.Connection:
    """A connection in a UTC session (COPY input carries timestamps as UTC wall time), or `CheckFailed`."""
    try:
        return await asyncio.wait_for(
            asyncpg.connect(
                host=config.host,
                port=config.port,
                user=config.username,
                password=config.password or None,
                database=config.database,
                ssl=config.ssl,
                timeout=CONNECT_SECONDS,
                server_settings={"timezone": "UTC", "application_name": "headwater-ingestion"},
            ),
            CONNECT_SECONDS + 0.5,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise _connect_failure(exc, config) from None


def postgres_type(dtype: DataType) -> str:
    """The column type an Arrow type is stored as."""
    types = pa.types
    if types.is_dictionary(dtype):
        return postgres_type(dtype.value_type)
    if types.is_boolean(dtype):
        return "boolean"
    if types.is_int8(dtype) or types.is_int16(dtype) or types.is_uint8(dtype):
        return "smallint"
    if types.is_int32(dtype) or types.is_uint16(dtype):
        return "integer"
    if types.is_int64(dtype) or types.is_uint32(dtype):
        return "bigint"
    if types.is_uint64(dtype):
        return "numeric(20,0)"
    if types.is_float16(dtype) or types.is_float32(dtype):
        return "real"
    if types.is_float64(dtype):
        return "double precision"
    if types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})" if dtype.precision <= 1000 else "numeric"
    if types.is_binary(dtype) or types.is_large_binary(dtype) or types.is_fixed_size_binary(dtype):
        return "bytea"
    if types.is_date(dtype):
        return "date"
    if types.is_time(dtype):
        return "time"
    if types.is_timestamp(dtype):
        return "timestamptz" if dtype.tz is not None else "timestamp"
    if types.is_duration(dtype):
        return "interval"
    if types.is_nested(dtype):
        return "jsonb"
    return "text"


def _bytea_literal(value: bytes) -> str:
    return "\\x" + bytes(value).hex()


def _json_text(value: object) -> str:
    return msgspec.json.encode(value).decode()


def _python_strings(column: Array, render: Callable[[Any], str]) -> Array:
    return pa.array([None if value is None else render(value) for value in column.to_pylist()], pa.string())


def _for_copy(column: Array) -> Array:
    """`column` as pyarrow's CSV writer writes it and Postgres reads it back."""
    types = pa.types
    dtype = column.type
    if types.is_dictionary(dtype):
        return _for_copy(column.dictionary_decode())
    if types.is_timestamp(dtype) and dtype.tz is not None:
        return pc.cast(column, pa.timestamp(dtype.unit))
    if types.is_binary(dtype) or types.is_large_binary(dtype) or types.is_fixed_size_binary(dtype):
        return _python_strings(column, _bytea_literal)
    if types.is_nested(dtype):
        return _python_strings(column, _json_text)
    if types.is_duration(dtype):
        micros = pc.cast(pc.cast(column, pa.duration("us")), pa.int64())
        return pc.binary_join_element_wise(pc.cast(micros, pa.string()), " microseconds", "")
    if types.is_float16(dtype):
        return pc.cast(column, pa.float32())
    if types.is_null(dtype) or types.is_string_view(dtype):
        return pc.cast(column, pa.string())
    return column


def copy_csv(batch: RecordBatch) -> bytes:
    """`batch` as `COPY ... (FORMAT csv)` input: texts quoted (an empty text stays empty), nulls unquoted empty
    cells (CPU work: call it off the event loop)."""
    if batch.num_rows == 0:
        return b""
    prepared = pa.RecordBatch.from_arrays([_for_copy(c) for c in batch.columns], names=batch.schema.names)
    out = io.BytesIO()
    pa_csv.write_csv(prepared, out, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue()


class _TableWrite:
    """One `write` call on one table, inside the transaction its caller opened."""

    def __init__(self, conn: asyncpg.Connection, schema: str, target: WriteTarget) -> None:
        self._conn = conn
        self._schema = schema
        self._target = target
        self._name = f"{quote_ident(schema)}.{quote_ident(target.table)}"
        self._columns: dict[str, str] = {}  # the table's columns and their SQL types, once it exists
        self._exists = False
        self._key: tuple[str, ...] = ()
        self._staging: str | None = None
        self._staged: dict[str, str] = {}  # the staging table's columns (the batches' columns so far)
        self._fresh = False
        self.rows = 0

    @property
    def _overwrite(self) -> bool:
        """Rows go to staging and replace the table's at the end (see `open` for when they go straight in)."""
        return self._target.mode == "overwrite" and not self._fresh

    async def open(self) -> None:
        # One writer per table at a time; also serialises two creators of the same new table.
        await self._conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 13))", f"{self._schema}.{self._target.table}"
        )
        await self._read_table()
        # A table that does not exist yet has no rows to keep visible nor to match keys against: it is created
        # in this transaction (nobody sees it before the commit) and loaded straight, each row written once,
        # and its primary key is added at the end (one index build instead of one insert per row).
        self._fresh = not self._exists

    async def _read_table(self) -> None:
        relation = await self._conn.fetchval("SELECT to_regclass($1)::oid", self._name)
        if relation is None:
            return
        self._exists = True
        records = await self._conn.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            relation,
        )
        self._columns = {str(r["attname"]): str(r["type"]) for r in records}
        key = await self._conn.fetch(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1 AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)",
            relation,
        )
        self._key = tuple(str(r["attname"]) for r in key)
        if self._target.primary_key and self._key != self._target.primary_key:
            log.warning(
                "postgres_destination_key_differs",
                table=self._name,
                table_key=list(self._key),
                stream_key=list(self._target.primary_key),
            )

    def _type_of(self, name: str, dtype: DataType) -> str:
        return self._columns.get(name) or self._staged.get(name) or postgres_type(dtype)

    async def _create_table(self, columns: Mapping[str, str]) -> None:
        key = self._target.primary_key
        missing = [name for name in key if name not in columns]
        if missing:
            raise WriteFailed("invalid_config", f"primary key column(s) {missing} are not in the rows")
        definitions = [f"{quote_ident(name)} {sql_type}" for name, sql_type in columns.items()]
        if key and not self._fresh:
            definitions.append(f"PRIMARY KEY ({', '.join(quote_ident(name) for name in key)})")
        await self._conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self._schema)}")
        await self._conn.execute(f"CREATE TABLE {self._name} ({', '.join(definitions)})")
        log.info("postgres_destination_table_created", table=self._name, columns=len(columns), key=list(key))
        await self._read_table()

    async def _add_columns(self, wanted: Mapping[str, str]) -> None:
        """Adds the columns of `wanted` the table lacks (schema evolution)."""
        for name, sql_type in wanted.items():
            if name not in self._columns:
                await self._conn.execute(
                    f"ALTER TABLE {self._name} ADD COLUMN IF NOT EXISTS {quote_ident(name)} {sql_type}"
                )
                self._columns[name] = sql_type
                log.info("postgres_destination_column_added", table=self._name, column=name, type=sql_type)

    async def _stage(self, schema: Any) -> str:
        """The staging table, with a column for every column of `schema` (created on first use)."""
        if self._staging is None:
            self._staging = f"_hw_staging_{uuid.uuid4().hex[:12]}"
            await self._conn.execute(
                f"CREATE TEMPORARY TABLE {quote_ident(self._staging)}"
                f" ({STAGING_ORDER} bigint GENERATED ALWAYS AS IDENTITY) ON COMMIT DROP"
            )
        for field in schema:
            if field.name not in self._staged:
                sql_type = self._type_of(field.name, field.type)
                await self._conn.execute(
                    f"ALTER TABLE {quote_ident(self._staging)} ADD COLUMN {quote_ident(field.name)} {sql_type}"
                )
                self._staged[field.name] = sql_type
        return self._staging

    async def _copy(self, table: str, schema_name: str | None, columns: Sequence[str], csv: bytes) -> None:
        await self._conn.copy_to_table(
            table, schema_name=schema_name, source=io.BytesIO(csv), columns=list(columns), format="csv"
        )

    def _insert_from_staging(self, staging: str, columns: Sequence[str]) -> str:
        listed = ", ".join(quote_ident(name) for name in columns)
        if not self._key:
            return f"INSERT INTO {self._name} ({listed}) SELECT {listed} FROM {quote_ident(staging)}"
        key = ", ".join(quote_ident(name) for name in self._key)
        updates = [f"{quote_ident(n)} = EXCLUDED.{quote_ident(n)}" for n in columns if n not in self._key]
        action = f"DO UPDATE SET {', '.join(updates)}" if updates else "DO NOTHING"
        return (
            f"INSERT INTO {self._name} ({listed}) SELECT DISTINCT ON ({key}) {listed}"
            f" FROM {quote_ident(staging)} ORDER BY {key}, {STAGING_ORDER} DESC ON CONFLICT ({key}) {action}"
        )

    async def add(self, batch: RecordBatch) -> None:
        schema = batch.schema
        for name in schema.names:
            identifier(name)
        if len(set(schema.names)) != len(schema.names):
            raise WriteFailed("invalid_name", f"the rows name a column twice: {schema.names}")
        if self._overwrite:
            # The table is touched only at the end: until then readers see its old rows, unblocked.
            staging = await self._stage(schema)
            csv = await asyncio.to_thread(copy_csv, batch)
            await self._copy(staging, None, schema.names, csv)
        else:
            wanted = {f.name: self._type_of(f.name, f.type) for f in schema}
            if not self._exists:
                await self._create_table(wanted)
            await self._add_columns(wanted)
            csv = await asyncio.to_thread(copy_csv, batch)
            if not self._key:
                await self._copy(self._target.table, self._schema, schema.names, csv)
            else:
                staging = await self._stage(schema)
                await self._copy(staging, None, schema.names, csv)
                await self._conn.execute(self._insert_from_staging(staging, schema.names))
                await self._conn.execute(f"TRUNCATE {quote_ident(staging)}")
        self.rows += batch.num_rows

    async def _add_primary_key(self) -> None:
        """The key of a table loaded fresh; where the rows hold a key twice, the last row read is kept (a fresh
        table's rows lie in the order COPY wrote them, which `ctid` follows)."""
        key = ", ".join(quote_ident(name) for name in self._target.primary_key)
        add = f"ALTER TABLE {self._name} ADD PRIMARY KEY ({key})"
        try:
            async with self._conn.transaction():  # a savepoint: a failed attempt leaves the load intact
                await self._conn.execute(add)
        except asyncpg.UniqueViolationError:
            await self._conn.execute(
                f"DELETE FROM {self._name} AS a USING {self._name} AS b WHERE ({', '.join(f'a.{quote_ident(n)}' for n in self._target.primary_key)})"
                f" = ({', '.join(f'b.{quote_ident(n)}' for n in self._target.primary_key)}) AND a.ctid < b.ctid"
            )
            await self._conn.execute(add)
        except asyncpg.NotNullViolationError:
            raise WriteFailed(
                "invalid_config", f"primary key column(s) {list(self._target.primary_key)} hold nulls"
            ) from None
        await self._read_table()

    async def _empty_table(self) -> None:
        """TRUNCATE (no dead rows left behind), or DELETE where TRUNCATE is refused: a table other tables'
        foreign keys reference, a user granted DELETE but not TRUNCATE."""
        try:
            async with self._conn.transaction():  # a savepoint
                await self._conn.execute(f"TRUNCATE {self._name}")
        except (asyncpg.FeatureNotSupportedError, asyncpg.InsufficientPrivilegeError) as exc:
            log.info("postgres_destination_truncate_refused", table=self._name, error=str(exc))
            await self._conn.execute(f"DELETE FROM {self._name}")

    async def finish(self) -> None:
        if self._fresh and self._exists and self._target.primary_key:
            await self._add_primary_key()
        if not self._overwrite:
            return
        if self._staging is None:
            # No rows at all: a full refresh of an empty source leaves the table empty.
            if self._exists:
                await self._empty_table()
            return
        if not self._exists:
            await self._create_table(self._staged)
        await self._add_columns(self._staged)
        await self._empty_table()
        await self._conn.execute(self._insert_from_staging(self._staging, list(self._staged)))


def _write_failure(exc: BaseException) -> WriteFailed:
    if isinstance(exc, WriteFailed):
        return exc
    if isinstance(exc, CheckFailed):
        return WriteFailed(exc.reason, exc.message)
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return WriteFailed("permission_denied", f"the user may not write there: {exc}")
    if isinstance(exc, asyncpg.DataError):
        return WriteFailed("type_mismatch", f"the rows do not fit the table's columns: {exc}")
    if isinstance(exc, asyncpg.PostgresError):
        return WriteFailed("failed", f"Postgres refused the rows: {exc}")
    return WriteFailed("unavailable", f"the connection to Postgres failed: {exc}")


_OURS = (WriteFailed, CheckFailed, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
"""Failures of the destination itself; anything else (the source's batches failing) passes through as is."""


def identifier(name: str) -> str:
    """`name` quoted as a Postgres identifier, or `WriteFailed("invalid_name")`."""
    try:
        return quote_ident(name)
    except ValueError as exc:
        raise WriteFailed("invalid_name", str(exc)) from None


class PostgresDestination:
    """Rows into tables of a Postgres database (module docstring)."""

    kind = KIND

    def spec(self) -> dict[str, Any]:
        return form_of(PostgresDestinationConfig)

    async def check(self, config: Mapping[str, Any]) -> None:
        """Connects, then asks whether the user may create tables in the configured schema (or create that
        schema, when it does not exist yet) on a server that accepts writes."""
        parsed = parse_config(config, PostgresDestinationConfig, KIND)
        conn = await connect(parsed)
        try:
            row = await conn.fetchrow(
                "SELECT n.oid IS NOT NULL AS present, pg_is_in_recovery() AS read_only, CASE WHEN n.oid IS NULL"
                " THEN has_database_privilege(current_database(), 'CREATE')"
                " ELSE has_schema_privilege(n.oid, 'CREATE') END AS can_create"
                " FROM (SELECT 1) AS one LEFT JOIN pg_namespace AS n ON n.nspname = $1",
                parsed.schema,
                timeout=QUERY_SECONDS,
            )
        except (TimeoutError, asyncpg.PostgresError) as exc:
            raise CheckFailed("connection_failed", f"the server did not answer the check: {exc}") from None
        finally:
            await conn.close()
        assert row is not None  # the query always returns one row
        if row["read_only"]:
            raise CheckFailed(
                "permission_denied", "the server is a read-only replica: give the primary's host"
            )
        if not row["can_create"]:
            what = f"schema {parsed.schema!r}" if row["present"] else f"database {parsed.database!r}"
            raise CheckFailed(
                "permission_denied",
                f"user {parsed.username!r} may not create tables in {what}: GRANT CREATE ON"
                f" {'SCHEMA' if row['present'] else 'DATABASE'} ... TO {parsed.username}",
            )

    async def write(
        self, config: Mapping[str, Any], target: WriteTarget, batches: AsyncIterator[RecordBatch]
    ) -> WriteSummary:
        try:
            parsed = parse_config(config, PostgresDestinationConfig, KIND)
            if target.mode not in ("append", "overwrite"):
                raise WriteFailed(
                    "invalid_config", f"unknown write mode {target.mode!r}: append or overwrite"
                )
            schema = target.namespace or parsed.schema
            identifier(schema)
            identifier(target.table)
            conn = await connect(parsed)
            try:
                table = _TableWrite(conn, schema, target)
                async with conn.transaction():
                    await table.open()
                    async for batch in batches:
                        if batch.num_rows:
                            await table.add(batch)
                    await table.finish()
            finally:
                await conn.close()
        except _OURS as exc:
            failure = _write_failure(exc)
            WRITES.labels(KIND, failure.reason).inc()
            if failure is exc:
                raise
            raise failure from exc
        WRITES.labels(KIND, "ok").inc()
        ROWS_WRITTEN.labels(KIND).inc(table.rows)
        log.info(
            "postgres_destination_written",
            table=f"{schema}.{target.table}",
            rows=table.rows,
            mode=target.mode,
        )
        return WriteSummary(rows_written=table.rows, location=f"{schema}.{target.table}")

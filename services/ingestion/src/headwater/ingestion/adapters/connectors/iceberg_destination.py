"""The Apache Iceberg destination: tables in a SQL catalog kept in Postgres, data files in a folder or an S3 bucket.

Through pyiceberg, which is synchronous: a write runs in one worker thread and pulls the batches from the event
loop as it needs them, so the loop stays free and memory holds a batch or two, never the stream. One `write`
call is one Iceberg transaction, committed to the catalog once at the end (or not at all, if anything fails: data
files already written stay unreferenced, as Iceberg's orphan-file maintenance expects). Within it, consecutive
batches with one schema stream into one append (one snapshot); a batch bringing new columns first evolves the
table's schema (`union_by_name`) and starts the next append; a full refresh (`overwrite`) replaces every row
in the same commit. With a primary key, rows appended to a table that has rows are upserted batch by batch (the
keys' rows deleted, their files rewritten, the new rows appended), so a sync that reads changed or already
written rows again leaves one row per key. Arrow types that Iceberg lacks are widened first (small and unsigned
integers, nanosecond or zoned timestamps, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import asyncpg
import msgspec
import sqlalchemy.exc
from msgspec import Meta
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO
from pyiceberg.table import DataScan
from pyiceberg.table.upsert_util import (
    create_match_filter,  # pyright: ignore[reportUnknownVariableType]  # takes a pyarrow Table
)
from sqlalchemy.engine import URL

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.destinations_common import (
    ROWS_WRITTEN,
    SECRET,
    WRITES,
    form_of,
    parse_config,
)
from headwater.ingestion.adapters.connectors.parquet_destination import ParquetDestination
from headwater.ingestion.adapters.connectors.postgres_destination import (
    PostgresDestination,
    PostgresDestinationConfig,
    connect,
    identifier,
)
from headwater.ingestion.arrow import Array, RecordBatch, pa, pc
from headwater.ingestion.domain.connectors import CheckFailed, WriteFailed, WriteSummary, WriteTarget

if TYPE_CHECKING:
    from pyiceberg.table import Table, Transaction

log = get_logger(__name__)

KIND = "iceberg"
NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
CATALOG_CONNECT_SECONDS = 8


class IcebergDestinationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Iceberg tables: a SQL catalog in a Postgres database, data files in a folder or an S3 bucket."""

    catalog_host: Annotated[str, Meta(title="Catalog host", min_length=1, max_length=255)]
    catalog_port: Annotated[int, Meta(title="Catalog port", ge=1, le=65535)] = 5432
    catalog_database: Annotated[str, Meta(title="Catalog database", min_length=1, max_length=63)]
    catalog_username: Annotated[str, Meta(title="Catalog username", min_length=1, max_length=63)]
    catalog_password: Annotated[str, Meta(title="Catalog password", extra_json_schema=SECRET)] = ""
    catalog_schema: Annotated[
        str, Meta(title="Catalog schema", description="Postgres schema of the catalog's tables", pattern=NAME)
    ] = "iceberg_catalog"
    catalog_ssl: Annotated[Literal["disable", "prefer", "require"], Meta(title="Catalog SSL mode")] = "prefer"
    catalog_name: Annotated[str, Meta(title="Catalog name", min_length=1, max_length=255)] = "headwater"
    namespace: Annotated[
        str, Meta(title="Namespace", description="Where tables go when a stream names none", pattern=NAME)
    ] = "default"
    store: Annotated[Literal["local", "s3"], Meta(title="Warehouse store")] = "local"
    path: Annotated[str | None, Meta(title="Warehouse folder", description="Absolute folder (local)")] = None
    bucket: Annotated[str | None, Meta(title="Warehouse bucket", description="S3 bucket (s3)")] = None
    prefix: Annotated[str, Meta(title="Warehouse prefix")] = ""
    endpoint: Annotated[
        str | None, Meta(title="S3 endpoint", description="URL of an S3-compatible server; AWS when empty")
    ] = None
    region: Annotated[str | None, Meta(title="S3 region")] = None
    access_key_id: Annotated[str | None, Meta(title="S3 access key id")] = None
    secret_access_key: Annotated[str | None, Meta(title="S3 secret access key", extra_json_schema=SECRET)] = (
        None
    )

    def catalog_as_postgres(self) -> dict[str, Any]:
        """The catalog database as the Postgres destination's configuration (its check reasons are ours)."""
        return {
            "host": self.catalog_host,
            "port": self.catalog_port,
            "database": self.catalog_database,
            "username": self.catalog_username,
            "password": self.catalog_password,
            "schema": self.catalog_schema,
            "ssl": self.catalog_ssl,
        }

    def warehouse_as_parquet(self) -> dict[str, Any]:
        """The warehouse as the Parquet destination's store (its check proves we may write there)."""
        fields = (
            "store",
            "path",
            "bucket",
            "prefix",
            "endpoint",
            "region",
            "access_key_id",
            "secret_access_key",
        )
        config = {name: getattr(self, name) for name in fields if getattr(self, name) is not None}
        if self.endpoint and self.endpoint.startswith("http://"):
            config["allow_http"] = True
        return config

    def warehouse(self) -> str:
        prefix = self.prefix.strip("/")
        if self.store == "local":
            if not self.path or not Path(self.path).is_absolute():
                raise CheckFailed(
                    "invalid_config", "a local Iceberg warehouse needs an absolute folder (path)"
                )
            return Path(self.path, prefix).as_uri()
        if not self.bucket:
            raise CheckFailed("invalid_config", "an S3 Iceberg warehouse needs a bucket")
        return f"s3://{self.bucket}/{prefix}".rstrip("/")

    def catalog_properties(self) -> dict[str, str]:
        url = URL.create(
            "postgresql+psycopg2",
            username=self.catalog_username,
            password=self.catalog_password or None,
            host=self.catalog_host,
            port=self.catalog_port,
            database=self.catalog_database,
            query={
                "options": f"-csearch_path={self.catalog_schema}",
                "sslmode": self.catalog_ssl,
                "connect_timeout": str(CATALOG_CONNECT_SECONDS),
                "application_name": "headwater-ingestion",
            },
        )
        properties = {"uri": url.render_as_string(hide_password=False), "warehouse": self.warehouse()}
        if self.store == "s3":
            # Without a region pyiceberg asks AWS for the bucket's; a local S3 server has none to tell.
            properties["s3.region"] = self.region or "us-east-1"
            for name, value in (
                ("s3.endpoint", self.endpoint),
                ("s3.access-key-id", self.access_key_id),
                ("s3.secret-access-key", self.secret_access_key),
            ):
                if value:
                    properties[name] = value
        return properties


def _widened(column: Array) -> Array:
    """`column` in a type Iceberg has (the narrowest that holds every value)."""
    types = pa.types
    dtype = column.type
    if types.is_dictionary(dtype):
        return _widened(column.dictionary_decode())
    if types.is_int8(dtype) or types.is_int16(dtype) or types.is_uint8(dtype) or types.is_uint16(dtype):
        return pc.cast(column, pa.int32())
    if types.is_uint32(dtype):
        return pc.cast(column, pa.int64())
    if types.is_uint64(dtype):
        return pc.cast(column, pa.decimal128(20, 0))
    if types.is_float16(dtype):
        return pc.cast(column, pa.float32())
    if types.is_timestamp(dtype) and (dtype.unit != "us" or dtype.tz not in (None, "UTC")):
        return pc.cast(column, pa.timestamp("us", "UTC" if dtype.tz else None), safe=False)
    if types.is_date64(dtype):
        return pc.cast(column, pa.date32())
    if types.is_time(dtype) and dtype != pa.time64("us"):
        return pc.cast(column, pa.time64("us"), safe=False)
    if types.is_duration(dtype):
        return pc.cast(pc.cast(column, pa.duration("us")), pa.int64())
    if types.is_null(dtype) or types.is_string_view(dtype):
        return pc.cast(column, pa.string())
    if types.is_binary_view(dtype):
        return pc.cast(column, pa.binary())
    return column


def for_iceberg(batch: RecordBatch) -> RecordBatch:
    return pa.RecordBatch.from_arrays([_widened(c) for c in batch.columns], names=batch.schema.names)


class _Cancelled(Exception):
    """The sync was cancelled: the writing thread stops at its next batch and commits nothing."""


class _Pull:
    """The batches of the event loop's iterator, read from the writing thread; a failure of the source is kept
    apart, so it is re-raised as is rather than taken for the destination's."""

    def __init__(self, batches: AsyncIterator[RecordBatch], loop: asyncio.AbstractEventLoop) -> None:
        self._batches = batches
        self._loop = loop
        self.source_failure: BaseException | None = None
        self.cancelled = False
        self.rows = 0

    def next(self) -> RecordBatch | None:
        """The next non-empty batch (widened), or None at the end."""
        while True:
            if self.cancelled:
                raise _Cancelled
            future = asyncio.run_coroutine_threadsafe(anext(self._batches, None), self._loop)
            try:
                batch = future.result()
            except BaseException as exc:
                self.source_failure = exc
                raise
            if self.cancelled:
                raise _Cancelled
            if batch is None:
                return None
            if batch.num_rows:
                self.rows += batch.num_rows
                return for_iceberg(batch)


class _Segments:
    """Consecutive batches of one schema, each run of them read as one `RecordBatchReader`."""

    def __init__(self, pull: _Pull, first: RecordBatch) -> None:
        self._pull = pull
        self.pending: RecordBatch | None = first

    def reader(self) -> Any:
        head = self.pending
        assert head is not None
        self.pending = None

        def batches() -> Iterator[RecordBatch]:
            yield head
            while (batch := self._pull.next()) is not None:
                if not batch.schema.equals(head.schema, check_metadata=False):
                    self.pending = batch
                    return
                yield batch

        return pa.RecordBatchReader.from_batches(head.schema, batches())


# pyiceberg's signatures name pyarrow types, which have no stubs (see `headwater.ingestion.arrow`): the calls
# passing Arrow data are marked as such below.


def _evolve(tx: Transaction, schema: Any) -> None:
    """Adds the columns of `schema` the table lacks (types of existing columns are left as they are)."""
    known = {field.name for field in tx.table_metadata.schema().fields}
    if set(schema.names) - known:
        with tx.update_schema() as update:
            update.union_by_name(schema)  # pyright: ignore[reportUnknownMemberType]
        log.info("iceberg_destination_columns_added", columns=sorted(set(schema.names) - known))


def _last_per_key(rows: Any, key: tuple[str, ...]) -> Any:
    """`rows` with one row per key, the last one read (an upsert takes each key once)."""
    missing = [name for name in key if name not in rows.schema.names]
    if missing:
        raise WriteFailed("invalid_config", f"primary key column(s) {missing} are not in the rows")
    numbered = rows.append_column("__hw_row", pa.array(range(rows.num_rows), pa.int64()))
    last = numbered.group_by(list(key)).aggregate([("__hw_row", "max")])["__hw_row_max"]
    if len(last) == rows.num_rows:
        return rows
    return rows.take(pc.take(last, pc.sort_indices(last)))


def _completed(tx: Transaction, io: FileIO, rows: Any, key: tuple[str, ...]) -> Any:
    """`rows` with every column of the table, those the rows lack taken from the table's row of the same key
    (an upsert replaces whole rows: a column the batch does not bring keeps its value, as in Postgres)."""
    columns = [field.name for field in tx.table_metadata.schema().fields]
    missing = [name for name in columns if name not in rows.schema.names]
    if not missing:
        return rows
    scan = DataScan(
        table_metadata=tx.table_metadata,
        io=io,
        row_filter=create_match_filter(rows, list(key)),
        selected_fields=(*key, *missing),
    )
    matched: Any = scan.to_arrow()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    joined = rows.join(matched, keys=list(key), join_type="left outer")
    return joined.select(columns)


def _upsert_all(tx: Transaction, io: FileIO, pull: _Pull, first: RecordBatch, key: tuple[str, ...]) -> None:
    batch: RecordBatch | None = first
    while batch is not None:
        _evolve(tx, batch.schema)
        rows = _completed(tx, io, _last_per_key(pa.Table.from_batches([batch]), key), key)
        # Delete the keys' rows, then append the new ones: pyiceberg's own `upsert` reads the table in the
        # schema of its last snapshot, so it refuses rows bringing a column added in this transaction.
        tx.delete(create_match_filter(rows, list(key)))
        tx.append(rows)  # pyright: ignore[reportUnknownMemberType]
        batch = pull.next()


def _write_in_thread(
    config: IcebergDestinationConfig, identifier: tuple[str, str], target: WriteTarget, pull: _Pull
) -> str:
    overwrite = target.mode == "overwrite"
    catalog = SqlCatalog(config.catalog_name, **config.catalog_properties())
    try:
        first = pull.next()
        namespace, name = identifier
        catalog.create_namespace_if_not_exists(namespace)
        table: Table
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            if first is None:
                return f"{config.catalog_name}.{namespace}.{name}"  # nothing to write, nothing to make
            try:
                table = catalog.create_table(identifier, schema=first.schema)  # pyright: ignore[reportUnknownMemberType]
                log.info("iceberg_destination_table_created", table=f"{namespace}.{name}")
            except TableAlreadyExistsError:
                table = catalog.load_table(identifier)
        with table.transaction() as tx:
            if first is None:
                if overwrite:
                    tx.delete(AlwaysTrue())
            elif target.primary_key and not overwrite and table.current_snapshot() is not None:
                # Rows of keys the table holds replace them, so a re-read of the same rows adds nothing.
                _upsert_all(tx, table.io, pull, first, target.primary_key)
            else:
                segments = _Segments(pull, first)
                replace = overwrite
                while segments.pending is not None:
                    _evolve(tx, segments.pending.schema)
                    if replace:
                        tx.overwrite(segments.reader())  # pyright: ignore[reportUnknownMemberType]
                        replace = False
                    else:
                        tx.append(segments.reader())  # pyright: ignore[reportUnknownMemberType]
        return f"{config.catalog_name}.{namespace}.{name}"
    finally:
        catalog.engine.dispose()


def _write_failure(exc: BaseException) -> WriteFailed:
    if isinstance(exc, WriteFailed):
        return exc
    if isinstance(exc, CheckFailed):
        return WriteFailed(exc.reason, exc.message)
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        return WriteFailed("unavailable", f"the catalog database failed: {str(exc.orig).strip()}")
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        return WriteFailed("failed", f"the catalog refused the change: {exc}")
    if isinstance(exc, CommitFailedException):
        return WriteFailed("conflict", f"another writer changed the table first; run again: {exc}")
    if isinstance(exc, ValueError | TypeError):
        return WriteFailed("type_mismatch", f"the rows do not fit the table: {exc}")
    if isinstance(exc, OSError):
        return WriteFailed("unavailable", f"the warehouse failed: {exc}")
    return WriteFailed("failed", f"{type(exc).__name__}: {exc}")


class IcebergDestination:
    """Rows into Iceberg tables (module docstring)."""

    kind = KIND

    def __init__(self) -> None:
        self._postgres = PostgresDestination()
        self._parquet = ParquetDestination()

    def spec(self) -> dict[str, Any]:
        return form_of(IcebergDestinationConfig)

    async def check(self, config: Mapping[str, Any]) -> None:
        """The catalog database as the Postgres destination checks it (reachable, credentials, CREATE on the
        catalog's schema) and the warehouse as the Parquet destination checks it (an object written), both at
        once so the answer comes within the 10 s of one; the catalog's failure is told first."""
        parsed = parse_config(config, IcebergDestinationConfig, KIND)
        parsed.warehouse()
        outcomes = await asyncio.gather(
            self._postgres.check(parsed.catalog_as_postgres()),
            self._parquet.check(parsed.warehouse_as_parquet()),
            return_exceptions=True,
        )
        for part, outcome in zip(("catalog", "warehouse"), outcomes, strict=True):
            if isinstance(outcome, CheckFailed):
                raise CheckFailed(outcome.reason, f"{part}: {outcome.message}") from None
            if isinstance(outcome, BaseException):
                raise outcome

    async def write(
        self, config: Mapping[str, Any], target: WriteTarget, batches: AsyncIterator[RecordBatch]
    ) -> WriteSummary:
        pull = _Pull(batches, asyncio.get_running_loop())
        try:
            parsed = parse_config(config, IcebergDestinationConfig, KIND)
            if target.mode not in ("append", "overwrite"):
                raise WriteFailed(
                    "invalid_config", f"unknown write mode {target.mode!r}: append or overwrite"
                )
            table = (target.namespace or parsed.namespace, target.table)
            if not all(table) or any("." in part for part in table):
                raise WriteFailed(
                    "invalid_name", f"{table} cannot name an Iceberg table (no dots, not empty)"
                )
            await self._ensure_catalog_schema(parsed)
            try:
                location = await asyncio.to_thread(_write_in_thread, parsed, table, target, pull)
            except asyncio.CancelledError:
                pull.cancelled = True  # the thread cannot be interrupted: it stops at its next batch
                raise
        except Exception as exc:
            if pull.source_failure is not None:
                raise pull.source_failure from None
            failure = _write_failure(exc)
            WRITES.labels(KIND, failure.reason).inc()
            if failure is exc:
                raise
            raise failure from exc
        WRITES.labels(KIND, "ok").inc()
        ROWS_WRITTEN.labels(KIND).inc(pull.rows)
        log.info("iceberg_destination_written", table=location, rows=pull.rows, mode=target.mode)
        return WriteSummary(rows_written=pull.rows, location=location)

    async def _ensure_catalog_schema(self, config: IcebergDestinationConfig) -> None:
        """The catalog's schema, made when missing (pyiceberg makes its tables, not their schema)."""
        postgres = parse_config(config.catalog_as_postgres(), PostgresDestinationConfig, KIND)
        conn = await connect(postgres)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {identifier(config.catalog_schema)}")
        except asyncpg.UniqueViolationError:
            pass  # made by a concurrent writer just now
        except asyncpg.InsufficientPrivilegeError:
            raise WriteFailed(
                "permission_denied", f"may not create the catalog's schema {config.catalog_schema!r}"
            ) from None
        finally:
            await conn.close()

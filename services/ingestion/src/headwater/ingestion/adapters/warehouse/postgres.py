"""The destination Postgres: one table per dataset, its quarantine table, and a ledger of loaded files.

Exactly once: a file (stored item) is loaded inside ONE transaction that takes an advisory lock on (table,
stored item), checks the `_loaded_files` ledger, streams the good rows and the bad rows in with COPY, and
records the file in the ledger. A second ingest of the same file waits for the lock, sees the ledger row and
does nothing; a process killed or a task cancelled mid-file rolls the whole transaction back, so nothing of the
file is half-loaded. (COPY straight into the table inside that transaction writes each row once, where a staging
table would write it twice.)
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from headwater.ingestion.adapters.warehouse.copy_format import to_copy_binary, to_copy_csv
from headwater.ingestion.arrow import RecordBatch
from headwater.ingestion.domain.errors import InvalidQuery
from headwater.ingestion.domain.records import (
    DataPage,
    EncodedRows,
    IgnoredFile,
    LoadSummary,
    OfDataSource,
    QuarantinedRow,
    QuarantineRecord,
)
from headwater.ingestion.domain.validation import FieldRule, FieldType
from headwater.ingestion.service_layer.warehouses import QUARANTINE_SUFFIX

LEDGER = "_loaded_files"
# Hidden columns every loaded row carries (the dataset's fields may not start with `_`).
HIDDEN_COLUMNS: tuple[str, ...] = ("_stored_item_id", "_data_source_id", "_line_number", "_signature")
QUARANTINE_COLUMNS: tuple[str, ...] = (
    "_stored_item_id",
    "_data_source_id",
    "_line_number",
    "_signature",
    "_field_name",
    "_field_value",
    "_msg",
    "_alert_type",
    "_row",
)
MAX_PAGE_SIZE = 1000

Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"


def quote_ident(name: str) -> str:
    """`name` as a Postgres identifier, whatever it holds (quotes doubled); never spliced unquoted."""
    if not name or "\x00" in name or len(name.encode()) > 63:
        raise ValueError(f"{name!r} cannot be a Postgres name (1 to 63 bytes, no NUL)")
    return '"' + name.replace('"', '""') + '"'


def postgres_type(rule: FieldRule) -> str:
    if rule.is_datetime:
        return "timestamptz"
    return {
        FieldType.INTEGER: "bigint",
        FieldType.NUMBER: "double precision",
        FieldType.BOOLEAN: "boolean",
        FieldType.ARRAY: "text[]",
        FieldType.OBJECT: "jsonb",
    }.get(rule.json_schema_field_type, "text")


class Loading:
    """The open transaction of one file's load (see the module docstring)."""

    def __init__(
        self, conn: Connection, schema: str, table: str, stored_item_id: int, column_types: dict[str, str]
    ) -> None:
        self._conn = conn
        self._schema = schema
        self._table = table
        self._stored_item_id = stored_item_id
        self._column_types = column_types
        self.previous: LoadSummary | None = None

    @property
    def already_loaded(self) -> bool:
        return self.previous is not None

    @property
    def column_types(self) -> Mapping[str, str]:
        return self._column_types

    async def copy_rows(self, rows: EncodedRows) -> None:
        """COPY encoded rows (`PostgresWarehouse.encode_rows`) into the dataset table."""
        await _copy(self._conn, self._schema, self._table, rows)

    async def copy_bad_rows(self, records: Sequence[QuarantineRecord]) -> None:
        if records:
            await self._conn.copy_records_to_table(
                self._table + QUARANTINE_SUFFIX,
                schema_name=self._schema,
                columns=list(QUARANTINE_COLUMNS),
                records=[tuple(msgspec.structs.astuple(r)) for r in records],
            )

    async def finish(self, summary: LoadSummary) -> None:
        """Records the file as loaded; the load commits when the `loading` block ends without error."""
        await self._conn.execute(
            f"INSERT INTO {quote_ident(self._schema)}.{LEDGER} (table_name, stored_item_id, data_source_id,"
            " rows_loaded, rows_quarantined, rows_ignored, sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self._table,
            self._stored_item_id,
            summary.data_source_id,
            summary.rows_loaded,
            summary.rows_quarantined,
            summary.rows_ignored,
            summary.sha256,
        )


COPY_CHUNK = 1 << 20


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), COPY_CHUNK):
        yield data[start : start + COPY_CHUNK]


async def _copy(conn: Connection, schema: str, table: str, rows: EncodedRows) -> None:
    # The encoded rows a slice at a time, on the event loop (asyncpg reads a file-like source 512 KiB at a
    # time, each read on a thread of the loop's default pool, whose threads then each keep freed memory).
    if rows.data:
        await conn.copy_to_table(
            table, schema_name=schema, source=_chunks(rows.data), columns=rows.columns, format=rows.format
        )


async def _column_types(conn: Connection, schema: str, table: str) -> dict[str, str]:
    records = await conn.fetch(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
        schema,
        table,
    )
    return {str(r["attname"]): str(r["type"]) for r in records}


class Reprocessing:
    """The open transaction over one page of quarantined rows (locked, so two reprocessors never both move one)."""

    def __init__(self, conn: Connection, schema: str, table: str, rows: list[QuarantinedRow]) -> None:
        self._conn = conn
        self._schema = schema
        self._table = table
        self.rows = rows

    async def move(self, rows: EncodedRows, ids: Sequence[int]) -> None:
        """Loads the now-good rows and deletes them from the quarantine table."""
        if not ids:
            return
        await _copy(self._conn, self._schema, self._table, rows)
        await self._conn.execute(
            f"DELETE FROM {quote_ident(self._schema)}.{quote_ident(self._table + QUARANTINE_SUFFIX)}"
            " WHERE _id = ANY($1::bigint[])",
            list(ids),
        )

    async def update_reasons(self, reasons: Sequence[tuple[int, str, str | None, str, str]]) -> None:
        """Rows still bad: (id, field name, field value, msg, alert type) as of today's rules."""
        if reasons:
            await self._conn.executemany(
                f"UPDATE {quote_ident(self._schema)}.{quote_ident(self._table + QUARANTINE_SUFFIX)}"
                " SET _field_name = $2, _field_value = $3, _msg = $4, _alert_type = $5 WHERE _id = $1",
                reasons,
            )


class PostgresWarehouse:
    """Datasets' tables in one schema of a destination database."""

    def __init__(self, pool: asyncpg.Pool, schema: str) -> None:
        quote_ident(schema)
        self._pool = pool
        self.schema = schema

    @classmethod
    async def open(cls, dsn: str, schema: str, *, max_size: int = 4) -> PostgresWarehouse:
        # UTC sessions: COPY input carries timestamps as UTC wall time (see `to_copy_csv`).
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=max_size, server_settings={"timezone": "UTC"}
        )
        return cls(pool, schema)

    async def close(self) -> None:
        await self._pool.close()

    @staticmethod
    def encode_rows(batch: RecordBatch, column_types: Mapping[str, str] | None = None) -> EncodedRows:
        """Rows as COPY input (CPU work, thread-safe: call it off the event loop): binary when every column
        of `batch` has the Arrow type of its table column's type (Postgres then parses nothing), else CSV
        (Postgres casts the text to whatever type the column has, e.g. a field retyped since its column was
        made)."""
        columns = list(batch.schema.names)
        if batch.num_rows == 0:
            return EncodedRows(columns, "csv", b"")
        binary = None if column_types is None else to_copy_binary(batch, column_types)
        if binary is not None:
            return EncodedRows(columns, "binary", binary)
        return EncodedRows(columns, "csv", to_copy_csv(batch))

    def _name(self, table: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(table)}"

    async def ensure_table(self, table: str, rules: Sequence[FieldRule]) -> None:
        """Creates the schema, the ledger, the dataset table and its quarantine table when missing, and adds a
        column for each included field the table does not have yet (columns are never dropped nor retyped)."""
        quote_ident(table + QUARANTINE_SUFFIX)
        for rule in rules:
            if rule.field_name.startswith("_"):
                raise ValueError(
                    f"field {rule.field_name!r}: names starting with '_' are kept for hidden columns"
                )
            quote_ident(rule.field_name)
        schema = quote_ident(self.schema)
        target = self._name(table)
        quarantine = self._name(table + QUARANTINE_SUFFIX)
        async with self._pool.acquire() as conn, conn.transaction():
            # Serialises concurrent creators of the same table (CREATE ... IF NOT EXISTS races otherwise).
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", f"{self.schema}.{table}"
            )
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {schema}.{LEDGER} (table_name text NOT NULL, stored_item_id bigint"
                " NOT NULL, data_source_id bigint, rows_loaded bigint NOT NULL, rows_quarantined bigint NOT NULL,"
                " rows_ignored bigint NOT NULL, sha256 text, ignored boolean NOT NULL DEFAULT false,"
                " loaded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, stored_item_id))"
            )
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {target} (_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                " _stored_item_id bigint NOT NULL, _data_source_id bigint, _line_number bigint NOT NULL,"
                " _signature text, _ingested_at timestamptz NOT NULL DEFAULT now())"
            )
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {quarantine} (_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                " _stored_item_id bigint NOT NULL, _data_source_id bigint, _line_number bigint NOT NULL,"
                " _signature text NOT NULL, _field_name text, _field_value text, _msg text NOT NULL,"
                " _alert_type text NOT NULL, _row jsonb NOT NULL, _ingested_at timestamptz NOT NULL DEFAULT now())"
            )
            # A file's rows are appended together, so the dataset table's stored-item and data-source columns
            # follow the table's physical order: BRIN indexes (a summary per range of pages) find them almost as
            # a btree would, at a fraction of a btree's cost per loaded row (a btree maintained for each of a
            # million rows took a third of the load). Tables made before keep the btrees they have.
            for name, method, columns in (
                (table, "brin", "_stored_item_id"),
                (table, "brin", "_data_source_id"),
                (table + QUARANTINE_SUFFIX, "btree", "_stored_item_id"),
                (table + QUARANTINE_SUFFIX, "btree", "_signature"),
            ):
                index = quote_ident(f"{name[:40]}_{columns}_idx")
                await conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {index} ON {self._name(name)} USING {method} ({columns})"
                )
            for rule in rules:
                if rule.to_include:
                    await conn.execute(
                        f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {quote_ident(rule.field_name)}"
                        f" {postgres_type(rule)}"
                    )

    @asynccontextmanager
    async def loading(
        self, table: str, stored_item_id: int, *, replace: bool = False
    ) -> AsyncGenerator[Loading]:
        """One file's load (module docstring). With `replace`, the file's earlier rows, bad rows and ledger
        entry are deleted first, in the same transaction (003's reprocess_file)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))",
                f"{self.schema}.{table}",
                stored_item_id,
            )
            types = await _column_types(conn, self.schema, table)
            loading = Loading(conn, self.schema, table, stored_item_id, types)
            ledger = f"{quote_ident(self.schema)}.{LEDGER}"
            if replace:
                await self._delete_file(conn, table, stored_item_id)
                await conn.execute(
                    f"DELETE FROM {ledger} WHERE table_name = $1 AND stored_item_id = $2",
                    table,
                    stored_item_id,
                )
            else:
                row = await conn.fetchrow(
                    f"SELECT data_source_id, rows_loaded, rows_quarantined, rows_ignored, sha256 FROM {ledger}"
                    " WHERE table_name = $1 AND stored_item_id = $2",
                    table,
                    stored_item_id,
                )
                if row is not None:
                    loading.previous = LoadSummary(
                        data_source_id=row["data_source_id"],
                        rows_loaded=row["rows_loaded"],
                        rows_quarantined=row["rows_quarantined"],
                        rows_ignored=row["rows_ignored"],
                        sha256=row["sha256"],
                    )
            yield loading

    async def _delete_file(self, conn: Connection, table: str, stored_item_id: int) -> IgnoredFile:
        rows = await conn.execute(
            f"DELETE FROM {self._name(table)} WHERE _stored_item_id = $1", stored_item_id
        )
        bad = await conn.execute(
            f"DELETE FROM {self._name(table + QUARANTINE_SUFFIX)} WHERE _stored_item_id = $1", stored_item_id
        )
        return IgnoredFile(int(rows.split()[-1]), int(bad.split()[-1]))

    async def ignore_file(self, table: str, stored_item_id: int) -> IgnoredFile:
        """Deletes a file's rows and bad rows and marks it ignored in the ledger, so a later ingest of it is a
        no-op (003's `ignore_file`)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))",
                f"{self.schema}.{table}",
                stored_item_id,
            )
            deleted = await self._delete_file(conn, table, stored_item_id)
            await conn.execute(
                f"INSERT INTO {quote_ident(self.schema)}.{LEDGER} (table_name, stored_item_id, rows_loaded,"
                " rows_quarantined, rows_ignored, ignored) VALUES ($1, $2, 0, 0, 0, true)"
                " ON CONFLICT (table_name, stored_item_id) DO UPDATE SET ignored = true",
                table,
                stored_item_id,
            )
            return deleted

    async def delete_bad_rows_with_signatures(
        self, table: str, data_source_id: int, signatures: Sequence[str]
    ) -> int:
        """Drops the quarantined rows of a data source whose line signature is now ignored (none when no file of
        the dataset has been loaded yet: the table does not exist)."""
        async with self._pool.acquire() as conn:
            try:
                status = await conn.execute(
                    f"DELETE FROM {self._name(table + QUARANTINE_SUFFIX)} WHERE _data_source_id = $1"
                    " AND _signature = ANY($2::text[])",
                    data_source_id,
                    list(signatures),
                )
            except asyncpg.UndefinedTableError:
                return 0
            return int(status.split()[-1])

    @asynccontextmanager
    async def reprocessing(
        self,
        table: str,
        *,
        after_id: int,
        limit: int,
        ids: Sequence[int] | None = None,
        source: OfDataSource | None = None,
    ) -> AsyncGenerator[Reprocessing]:
        """The next `limit` quarantined rows after `after_id` (only `ids` when given, only those of `source`
        when given; never row-level issues, whose cells could not be told apart), locked for the block's
        transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            records = await conn.fetch(
                "SELECT _id, _stored_item_id, _data_source_id, _line_number, _signature, _row::text AS row"
                f" FROM {self._name(table + QUARANTINE_SUFFIX)} WHERE _id > $1"
                " AND _alert_type <> 'row_level_issue' AND ($2::bigint[] IS NULL OR _id = ANY($2::bigint[]))"
                " AND (NOT $4::boolean OR _data_source_id IS NOT DISTINCT FROM $5::bigint)"
                " ORDER BY _id LIMIT $3 FOR UPDATE SKIP LOCKED",
                after_id,
                list(ids) if ids is not None else None,
                limit,
                source is not None,
                source.data_source_id if source is not None else None,
            )
            rows = [
                QuarantinedRow(
                    id=r["_id"],
                    stored_item_id=r["_stored_item_id"],
                    data_source_id=r["_data_source_id"],
                    line_number=r["_line_number"],
                    signature=r["_signature"],
                    row=msgspec.json.decode(r["row"]),
                )
                for r in records
            ]
            yield Reprocessing(conn, self.schema, table, rows)

    async def _columns_of(self, table: str) -> set[str]:
        """The columns `table` has (none when it does not exist)."""
        async with self._pool.acquire() as conn:
            records = await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                self.schema,
                table,
            )
        return {str(r["column_name"]) for r in records}

    async def read_page(
        self,
        table: str,
        rules: Sequence[FieldRule],
        *,
        page: int = 1,
        limit: int = 20,
        data_source_id: int | None = None,
        stored_item_id: int | None = None,
        is_bad_data: bool = False,
        order_by: Sequence[str] = ("~id",),
    ) -> DataPage:
        """003's Get Data: rows (or bad rows) of the dataset, filtered, ordered (`~` = descending), paged."""
        if page < 1 or not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidQuery(f"page must be >= 1 and limit between 1 and {MAX_PAGE_SIZE}")
        existing = await self._columns_of(table + QUARANTINE_SUFFIX if is_bad_data else table)
        # A field added since the last load has no column yet: it is listed, its values are null.
        fields = [rule.field_name for rule in rules if rule.to_include]
        if is_bad_data:
            columns = ["_id", *QUARANTINE_COLUMNS, "_ingested_at"]
            source = self._name(table + QUARANTINE_SUFFIX)
        else:
            columns = ["_id", *fields, *HIDDEN_COLUMNS, "_ingested_at"]
            source = self._name(table)
        orders: list[str] = []
        order_names: list[str] = []
        for item in order_by:
            descending = item.startswith("~")
            name = item.removeprefix("~")
            if name == "id" and "id" not in columns:
                name = "_id"
            if name not in columns:
                raise InvalidQuery(f"cannot order by {name!r}: it is none of {columns}")
            orders.append(quote_ident(name) + (" DESC" if descending else " ASC"))
            order_names.append(name)
        where = (
            "($1::bigint IS NULL OR _data_source_id = $1) AND ($2::bigint IS NULL OR _stored_item_id = $2)"
        )
        if not existing:  # no file of the dataset loaded yet
            return DataPage(0, 0, fields, [])
        selected = ", ".join(
            (quote_ident(c) + ("::text" if c == "_row" else ""))
            if c in existing
            else f"NULL AS {quote_ident(c)}"
            for c in columns
        )
        orders = [o for o, name in zip(orders, order_names, strict=True) if name in existing] + ["_id ASC"]
        async with self._pool.acquire() as conn:
            total: int = await conn.fetchval(
                f"SELECT count(*) FROM {source} WHERE {where}", data_source_id, stored_item_id
            )
            records = await conn.fetch(
                f"SELECT {selected} FROM {source} WHERE {where} ORDER BY {', '.join(orders)} LIMIT $3 OFFSET $4",
                data_source_id,
                stored_item_id,
                limit,
                (page - 1) * limit,
            )
        results: list[dict[str, Any]] = []
        for record in records:
            row = dict(record.items())
            if is_bad_data:
                row["_row"] = msgspec.json.decode(row["_row"])
            results.append(row)
        return DataPage(total, -(-total // limit), fields, results)

"""Postgres as a source: tables and views of chosen schemas, read in full or by a cursor column, as Arrow batches.

Rows leave the server as `COPY (SELECT ...) TO STDOUT (FORMAT csv)` and become Arrow in pyarrow's CSV parser
(C++, in a thread) with the column types known from the catalog, so no value passes through Python. Each column
is selected as an expression whose text pyarrow reads back exactly (timestamps in UTC ISO form, JSON and arrays
as JSON text, bytea as base64, anything unknown as its text). The stream is cut at row boundaries: in Postgres'
CSV a newline ends a row exactly when an even number of quote characters precede it.

Incremental reads order by the cursor column and resume with `cursor >= last value`, skipping the rows whose
primary key the state lists as read at that value (see `CursorState`): rows sharing the last value are neither
lost nor read twice. A table without a primary key re-reads the rows at the last value (at least once). Rows
whose cursor is NULL are never read incrementally.

CDC (`postgres_cdc`) is offered for tables with a primary key when the server runs with `wal_level=logical` and
the user may replicate; discovery says so per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Annotated, Any

import asyncpg
import msgspec
from msgspec import Meta

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.common import (
    CHECK_TIMEOUT_SECONDS,
    SOURCE_READ_FAILURES,
    SOURCE_ROWS,
    CursorState,
    Rebatcher,
    checking,
    config_spec,
    masked_repr,
    next_state,
    parse_config,
    previous_state,
    sql_text,
)
from headwater.ingestion.adapters.connectors.postgres_cdc import (
    CdcState,
    ChangeBatcher,
    cdc_batch,
    changes,
    changes_as_batch,
    create_slot,
    drop_slot,
    missing_for_cdc,
    release_up_to,
    slot_name,
)
from headwater.ingestion.arrow import DataType, pa, pa_csv
from headwater.ingestion.domain.connectors import (
    CHANGE_OP_COLUMN,
    CheckFailed,
    Column,
    ReadBatch,
    ReadRequest,
    Stream,
    SyncMode,
)

log = get_logger(__name__)

KIND = "postgres"
COPY_BLOCK_BYTES = 8 * 1024 * 1024  # CSV text parsed at a time
COPY_QUEUE_CHUNKS = 64  # network chunks held between the connection and the parser
SESSION = {
    "DateStyle": "ISO, YMD",
    "TimeZone": "UTC",
    "IntervalStyle": "iso_8601",
    "standard_conforming_strings": "on",
    "application_name": "headwater-ingestion",
}


class SslMode(enum.StrEnum):
    DISABLE = "disable"
    ALLOW = "allow"
    PREFER = "prefer"
    REQUIRE = "require"
    VERIFY_CA = "verify-ca"
    VERIFY_FULL = "verify-full"


class PostgresConfig(msgspec.Struct, frozen=True, kw_only=True):
    host: Annotated[str, Meta(min_length=1, max_length=253, title="Host", description="Name or address")]
    port: Annotated[int, Meta(ge=1, le=65535, title="Port")] = 5432
    database: Annotated[str, Meta(min_length=1, max_length=63, title="Database")]
    username: Annotated[str, Meta(min_length=1, max_length=63, title="Username")]
    password: Annotated[
        str, Meta(max_length=1024, title="Password", extra_json_schema={"format": "password", "secret": True})
    ] = ""
    ssl_mode: Annotated[
        SslMode,
        Meta(
            title="SSL mode",
            description="libpq's sslmode: disable, allow, prefer, require, verify-ca, verify-full",
        ),
    ] = SslMode.PREFER
    replication_slot_prefix: Annotated[
        str,
        Meta(
            pattern="^[a-z][a-z0-9_]{0,39}$",
            title="Replication slot prefix",
            description="CDC only: the prefix of the replication slot made for each stream",
        ),
    ] = "headwater"
    schemas: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=63)], ...],
        Meta(
            min_length=1,
            max_length=100,
            title="Schemas",
            description="Schemas whose tables and views to read",
        ),
    ] = ("public",)

    def __repr__(self) -> str:
        return masked_repr(self)


# --- connecting: every failure a reason and a sentence ---------------------------------------------------------


async def connect(cfg: PostgresConfig, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> asyncpg.Connection:
    """A connection, or `CheckFailed` saying what stopped it (the password never appears in a message)."""
    where = f"{cfg.host}:{cfg.port}"
    try:
        return await asyncpg.connect(
            host=cfg.host,
            port=cfg.port,
            user=cfg.username,
            password=cfg.password or None,
            database=cfg.database,
            ssl=cfg.ssl_mode.value,
            timeout=timeout,
            server_settings=SESSION,
            statement_cache_size=0,
        )
    except socket.gaierror:
        raise CheckFailed("unreachable_host", f"the host name {cfg.host!r} does not resolve") from None
    except ConnectionRefusedError:
        raise CheckFailed(
            "connection_refused", f"{where} refused the connection: is Postgres listening on that port?"
        ) from None
    except TimeoutError:
        raise CheckFailed(
            "timeout", f"{where} did not answer within {timeout:.0f} s (a firewall, or the wrong host?)"
        ) from None
    except asyncpg.InvalidPasswordError:
        raise CheckFailed(
            "bad_credentials", f"password authentication failed for user {cfg.username!r}"
        ) from None
    except asyncpg.InvalidAuthorizationSpecificationError as e:
        raise _authorization_failure(cfg, str(e)) from None
    except asyncpg.InvalidCatalogNameError:
        raise CheckFailed("not_found", f"database {cfg.database!r} does not exist on {where}") from None
    except asyncpg.InsufficientPrivilegeError:
        raise CheckFailed(
            "permission_denied", f"user {cfg.username!r} may not connect to database {cfg.database!r}"
        ) from None
    except ssl.SSLError as e:
        raise CheckFailed("tls_failed", f"the TLS handshake with {where} failed: {e.reason or e}") from None
    except asyncpg.PostgresError as e:
        raise CheckFailed("connection_failed", f"{where} refused the session: {e}") from None
    except ConnectionError as e:
        if "SSL" in str(e):
            raise CheckFailed(
                "tls_unavailable",
                f"{where} does not offer TLS; choose an SSL mode that allows plain connections",
            ) from None
        raise CheckFailed("connection_failed", f"the connection to {where} failed: {e}") from None
    except OSError as e:
        raise CheckFailed("unreachable_host", f"{where} cannot be reached: {e.strerror or e}") from None


def _authorization_failure(cfg: PostgresConfig, message: str) -> CheckFailed:
    if "SSL off" in message or "no encryption" in message:
        return CheckFailed(
            "tls_required", "the server accepts this user only over TLS: set the SSL mode to require"
        )
    if "does not exist" in message:
        return CheckFailed("bad_credentials", f"user {cfg.username!r} does not exist")
    return CheckFailed("permission_denied", f"the server refuses user {cfg.username!r} from here: {message}")


@contextlib.asynccontextmanager
async def connected(cfg: PostgresConfig) -> AsyncGenerator[asyncpg.Connection]:
    conn = await connect(cfg)
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), 5)
        if not conn.is_closed():
            conn.terminate()


def quote_ident(name: str) -> str:
    if not name or "\x00" in name:
        raise CheckFailed("invalid_config", f"{name!r} cannot be a Postgres name")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    if "\x00" in text:
        raise CheckFailed("invalid_config", "a value holding NUL cannot be a Postgres literal")
    return "'" + text.replace("'", "''") + "'"


# --- the catalog -----------------------------------------------------------------------------------------------

RELATIONS = """
SELECT n.nspname AS namespace, c.relname AS name, a.attname AS column_name,
       coalesce(bt.typname, t.typname) AS type_name, coalesce(bt.typcategory, t.typcategory)::text AS category,
       format_type(a.atttypid, a.atttypmod) AS full_type,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       a.attnotnull AS not_null,
       coalesce(pk.columns, '{}') AS primary_key
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN LATERAL (
    SELECT array_agg(ka.attname ORDER BY k.ord) AS columns
    FROM pg_index i
    CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute ka ON ka.attrelid = i.indrelid AND ka.attnum = k.attnum
    WHERE i.indrelid = c.oid AND i.indisprimary
) pk ON true
WHERE n.nspname = ANY($1::text[])
  AND ($2::text IS NULL OR c.relname = $2)
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND has_schema_privilege(n.oid, 'USAGE')
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY n.nspname, c.relname, a.attnum
"""

SCHEMA_ACCESS = """
SELECT s.name, n.oid IS NOT NULL AS present,
       coalesce(has_schema_privilege(n.oid, 'USAGE'), false) AS usage,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND NOT c.relispartition) AS relations,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
           AND NOT c.relispartition AND has_table_privilege(c.oid, 'SELECT')) AS readable
FROM unnest($1::text[]) AS s(name)
LEFT JOIN pg_namespace n ON n.nspname = s.name
"""


class PgColumn(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type_name: str
    category: str
    full_type: str
    typmod: int
    not_null: bool

    def plan(self) -> ColumnPlan:
        return column_plan(self)


class PgRelation(msgspec.Struct, frozen=True, kw_only=True):
    namespace: str
    name: str
    columns: tuple[PgColumn, ...]
    primary_key: tuple[str, ...]

    def column(self, name: str) -> PgColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise CheckFailed("not_found", f"column {name!r} is not in {self.namespace}.{self.name}")


async def relations(
    conn: asyncpg.Connection, schemas: Sequence[str], name: str | None = None
) -> list[PgRelation]:
    rows = await conn.fetch(RELATIONS, list(schemas), name)
    found: dict[tuple[str, str], tuple[list[PgColumn], tuple[str, ...]]] = {}
    for r in rows:
        columns, _ = found.setdefault((r["namespace"], r["name"]), ([], tuple(r["primary_key"])))
        columns.append(
            PgColumn(
                name=r["column_name"],
                type_name=r["type_name"],
                category=r["category"],
                full_type=r["full_type"],
                typmod=r["typmod"],
                not_null=r["not_null"],
            )
        )
    return [
        PgRelation(namespace=ns, name=n, columns=tuple(cols), primary_key=pk)
        for (ns, n), (cols, pk) in found.items()
    ]


# --- types: what each column is selected as, read back as, and called ------------------------------------------


class ColumnPlan(msgspec.Struct, frozen=True, kw_only=True):
    select: str  # the expression in the COPY query
    arrow: DataType
    column: Column
    orderable: bool


_SIMPLE: dict[str, tuple[str, str | None, Any, bool]] = {
    # type name: (JSON type, format, Arrow type, usable as a cursor)
    "int2": ("integer", None, pa.int16(), True),
    "int4": ("integer", None, pa.int32(), True),
    "int8": ("integer", None, pa.int64(), True),
    "oid": ("integer", None, pa.int64(), True),
    "float4": ("number", None, pa.float32(), True),
    "float8": ("number", None, pa.float64(), True),
    "bool": ("boolean", None, pa.bool_(), False),
    "date": ("string", "date", pa.date32(), True),
    "time": ("string", "time", pa.time64("us"), True),
    "timestamp": ("string", "date-time-local", pa.timestamp("us"), True),
    "timestamptz": ("string", "date-time", pa.timestamp("us", tz="UTC"), True),
    "text": ("string", None, pa.string(), True),
    "varchar": ("string", None, pa.string(), True),
    "bpchar": ("string", None, pa.string(), True),
    "name": ("string", None, pa.string(), True),
    "uuid": ("string", "uuid", pa.string(), True),
}


def column_plan(c: PgColumn) -> ColumnPlan:
    q = quote_ident(c.name)
    nullable = not c.not_null

    def plan(select: str, json_type: str, fmt: str | None, arrow: Any, orderable: bool) -> ColumnPlan:
        return ColumnPlan(
            select=select,
            arrow=arrow,
            column=Column(name=c.name, type=json_type, format=fmt, nullable=nullable),
            orderable=orderable,
        )

    if c.category == "A":
        return plan(f"array_to_json({q})::text", "array", "json", pa.string(), False)
    if c.type_name in _SIMPLE:
        json_type, fmt, arrow, orderable = _SIMPLE[c.type_name]
        return plan(q, json_type, fmt, arrow, orderable)
    if c.type_name == "numeric":
        # typmod = ((precision << 16) | scale) + 4; none (-1) = any precision, which no Arrow decimal holds
        if c.typmod >= 4:
            precision, scale = (c.typmod - 4) >> 16, (c.typmod - 4) & 0xFFFF
            if precision <= 38 and scale <= precision:
                return plan(q, "number", "decimal", pa.decimal128(precision, scale), True)
        return plan(f"{q}::text", "string", "decimal", pa.string(), True)
    if c.type_name in ("json", "jsonb"):
        return plan(f"{q}::text", "object", "json", pa.string(), False)
    if c.type_name == "bytea":
        return plan(f"encode({q}, 'base64')", "string", "byte", pa.string(), False)
    return plan(f"{q}::text", "string", None, pa.string(), False)


def stream_of(rel: PgRelation, *, cdc: bool = False) -> Stream:
    plans = [c.plan() for c in rel.columns]
    cursors = tuple(c.name for c, p in zip(rel.columns, plans, strict=True) if p.orderable)
    modes = (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL) if cursors else (SyncMode.FULL_REFRESH,)
    if cdc and rel.primary_key:
        modes = (*modes, SyncMode.CDC)
    return Stream(
        namespace=rel.namespace,
        name=rel.name,
        columns=tuple(p.column for p in plans),
        primary_key=rel.primary_key,
        cursor_candidates=cursors,
        sync_modes=modes,
    )


# --- COPY as Arrow ---------------------------------------------------------------------------------------------


def row_boundary(buf: bytearray) -> int:
    """The length of the longest prefix of `buf` made of whole CSV rows (0 if none ends in it)."""
    end = buf.rfind(b"\n")
    while end >= 0:
        if buf.count(b'"', 0, end) % 2 == 0:
            return end + 1
        end = buf.rfind(b"\n", 0, end)
    return 0


class CsvDecoder:
    """Postgres CSV text of known columns → Arrow tables (NULL is an unquoted empty field, '' a quoted one)."""

    def __init__(self, names: Sequence[str], types: Sequence[Any]) -> None:
        # pyarrow names columns by position here; the names go back on afterwards (they may repeat nothing, but
        # may be anything, including names pyarrow would read as options).
        self._names = list(names)
        positional = [f"c{i}" for i in range(len(names))]
        self._read = pa_csv.ReadOptions(
            column_names=positional, use_threads=True, block_size=COPY_BLOCK_BYTES
        )
        self._parse = pa_csv.ParseOptions(newlines_in_values=True)
        self._convert = pa_csv.ConvertOptions(
            column_types=dict(zip(positional, types, strict=True)),
            true_values=["t"],
            false_values=["f"],
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        self.schema = pa.schema([pa.field(n, t) for n, t in zip(names, types, strict=True)])

    def decode(self, data: bytes) -> Any:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=self._read,
            parse_options=self._parse,
            convert_options=self._convert,
        )
        return table.rename_columns(self._names)


async def copy_as_arrow(conn: asyncpg.Connection, query: str, decoder: CsvDecoder) -> AsyncIterator[Any]:
    """Arrow tables of the rows of `query`, parsed while the next rows arrive; memory stays within a few blocks."""
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
    room = asyncio.Semaphore(COPY_QUEUE_CHUNKS)

    async def sink(chunk: bytes) -> None:
        await room.acquire()
        chunks.put_nowait(chunk)

    async def copy() -> None:
        try:
            await conn.copy_from_query(query, output=sink, format="csv")
        finally:
            chunks.put_nowait(None)

    task = asyncio.create_task(copy())
    buf = bytearray()
    try:
        while (chunk := await chunks.get()) is not None:
            room.release()
            buf += chunk
            if len(buf) >= COPY_BLOCK_BYTES and (cut := row_boundary(buf)):
                data = bytes(buf[:cut])
                del buf[:cut]
                yield await asyncio.to_thread(decoder.decode, data)
        await task  # the COPY's own error, if it failed
        if buf:
            yield await asyncio.to_thread(decoder.decode, bytes(buf))
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            conn.terminate()  # a COPY cut short leaves the connection mid-protocol


# --- the connector ---------------------------------------------------------------------------------------------


class PostgresSource:
    kind = KIND

    def spec(self) -> dict[str, Any]:
        return config_spec(
            PostgresConfig,
            title="Postgres",
            description="Tables and views of a Postgres database (9.6 or later), read with COPY",
        )

    async def check(self, config: Mapping[str, Any]) -> None:
        cfg = parse_config(config, PostgresConfig)
        async with checking(KIND, f"{cfg.host}:{cfg.port}"):
            async with connected(cfg) as conn:
                rows = await conn.fetch(SCHEMA_ACCESS, list(cfg.schemas))
            _schemas_usable(cfg, rows)

    async def drop_replication_slot(self, config: Mapping[str, Any], stream: Stream) -> bool:
        """Drops the CDC slot of `stream` (a job that stops reading it must, or the server keeps its WAL)."""
        cfg = parse_config(config, PostgresConfig)
        async with connected(cfg) as conn:
            slot = slot_name(
                cfg.replication_slot_prefix, cfg.database, stream.namespace or "public", stream.name
            )
            return await drop_slot(conn, slot)

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = parse_config(config, PostgresConfig)
        async with connected(cfg) as conn:
            cdc = not await missing_for_cdc(conn)
            return [stream_of(rel, cdc=cdc) for rel in await relations(conn, cfg.schemas)]

    async def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]:
        cfg = parse_config(config, PostgresConfig)
        stream = request.stream
        namespace = stream.namespace or "public"
        prev = previous_state(request)
        yielded = False
        async with connected(cfg) as conn:
            found = await relations(conn, [namespace], stream.name)
            if not found:
                raise CheckFailed("not_found", f"{namespace}.{stream.name} does not exist or may not be read")
            rel = found[0]
            wanted = [c.name for c in stream.columns] or [c.name for c in rel.columns]
            columns = [rel.column(n) for n in wanted]
            plans = [c.plan() for c in columns]
            decoder = CsvDecoder(wanted, [p.arrow for p in plans])
            if request.sync_mode == SyncMode.CDC:
                async for out in _read_changes(conn, cfg, rel, columns, plans, decoder, request):
                    yield out
                return
            query = _select(rel, plans, request, prev)
            rebatcher = Rebatcher(request.batch_rows)
            state = prev
            try:
                async for table in copy_as_arrow(conn, query, decoder):
                    for batch in rebatcher.add(table):
                        state, out = _advance(batch, request, rel, state)
                        yielded = True
                        yield out
                for batch in rebatcher.rest():
                    state, out = _advance(batch, request, rel, state)
                    yielded = True
                    yield out
            except asyncpg.PostgresError as e:
                SOURCE_READ_FAILURES.labels(KIND).inc()
                raise CheckFailed("read_failed", f"reading {namespace}.{stream.name} failed: {e}") from None
            except pa.ArrowInvalid as e:
                SOURCE_READ_FAILURES.labels(KIND).inc()
                raise CheckFailed(
                    "read_failed", f"a value of {namespace}.{stream.name} has no Arrow form: {e}"
                ) from None
            if not yielded and request.sync_mode == SyncMode.FULL_REFRESH:
                # An empty table still has a shape: the destination can create (or empty) its table.
                yield ReadBatch(records=pa.RecordBatch.from_pylist([], schema=decoder.schema), state=None)


def _advance(
    batch: Any, request: ReadRequest, rel: PgRelation, state: CursorState | None
) -> tuple[CursorState | None, ReadBatch]:
    SOURCE_ROWS.labels(KIND).inc(batch.num_rows)
    if request.sync_mode != SyncMode.INCREMENTAL or request.cursor_field is None:
        return state, ReadBatch(records=batch, state=None)
    state = next_state(batch, request.cursor_field, rel.primary_key, state)
    return state, ReadBatch(records=batch, state=state.as_state() if state else None)


def _select(
    rel: PgRelation,
    plans: Sequence[ColumnPlan],
    request: ReadRequest,
    prev: CursorState | None,
) -> str:
    source = f"{quote_ident(rel.namespace)}.{quote_ident(rel.name)}"
    select = ", ".join(p.select for p in plans)
    if request.sync_mode == SyncMode.FULL_REFRESH:
        return f"SELECT {select} FROM {source}"
    if request.sync_mode != SyncMode.INCREMENTAL:
        raise CheckFailed(
            "invalid_config", f"Postgres streams are read in full or incrementally, not {request.sync_mode}"
        )
    if request.cursor_field is None:
        raise CheckFailed("invalid_config", "an incremental read needs a cursor field")
    cursor = rel.column(request.cursor_field)
    if not cursor.plan().orderable:
        raise CheckFailed("invalid_config", f"column {cursor.name!r} ({cursor.full_type}) cannot be a cursor")
    qc = quote_ident(cursor.name)
    where = f"{qc} IS NOT NULL"
    if prev is not None:
        last = f"{quote_literal(sql_text(prev.cursor))}::{cursor.full_type}"
        where = f"{qc} >= {last}"
        if prev.keys_at_cursor and rel.primary_key:
            key_types = [rel.column(k).full_type for k in rel.primary_key]
            keys = ", ".join(
                "("
                + ", ".join(f"{quote_literal(sql_text(v))}::{t}" for v, t in zip(key, key_types, strict=True))
                + ")"
                for key in prev.keys_at_cursor
            )
            key_cols = ", ".join(quote_ident(k) for k in rel.primary_key)
            where += f" AND NOT ({qc} = {last} AND ({key_cols}) IN ({keys}))"
    order = ", ".join([qc, *(quote_ident(k) for k in rel.primary_key if k != cursor.name)])
    return f"SELECT {select} FROM {source} WHERE {where} ORDER BY {order}"


def _schemas_usable(cfg: PostgresConfig, rows: Sequence[asyncpg.Record]) -> None:
    for r in rows:
        name = r["name"]
        if not r["present"]:
            raise CheckFailed("not_found", f"schema {name!r} does not exist in database {cfg.database!r}")
        if not r["usage"]:
            raise CheckFailed("permission_denied", f"user {cfg.username!r} has no USAGE on schema {name!r}")
        if r["relations"] and not r["readable"]:
            raise CheckFailed(
                "permission_denied",
                f"user {cfg.username!r} may SELECT none of the {r['relations']} tables and views of schema {name!r}",
            )


async def _read_changes(
    conn: asyncpg.Connection,
    cfg: PostgresConfig,
    rel: PgRelation,
    columns: Sequence[PgColumn],
    plans: Sequence[ColumnPlan],
    decoder: CsvDecoder,
    request: ReadRequest,
) -> AsyncIterator[ReadBatch]:
    """A CDC read (see `postgres_cdc`): the table copied once with a fresh slot, then the slot's changes."""
    where = f"{rel.namespace}.{rel.name}"
    if missing := await missing_for_cdc(conn):
        raise CheckFailed("cdc_unavailable", f"CDC of {where} needs: " + "; ".join(missing))
    if not rel.primary_key:
        raise CheckFailed(
            "cdc_unavailable", f"CDC of {where} needs a primary key (changes are applied by key)"
        )
    slot = slot_name(cfg.replication_slot_prefix, cfg.database, rel.namespace, rel.name)
    saved = _cdc_state(request.state, slot)
    if saved is None:
        start = CdcState(slot=slot, lsn=await create_slot(conn, slot))
        log.info("cdc snapshot", stream=where, slot=slot, lsn=start.lsn)
        query = f"SELECT {', '.join(p.select for p in plans)} FROM {quote_ident(rel.namespace)}.{quote_ident(rel.name)}"
        rebatcher, held = Rebatcher(request.batch_rows), None
        async for table in copy_as_arrow(conn, query, decoder):
            for batch in rebatcher.add(table):
                if held is not None:
                    yield cdc_batch(_as_inserts(held), None)
                held = batch
        for batch in rebatcher.rest():
            if held is not None:
                yield cdc_batch(_as_inserts(held), None)
            held = batch
        if held is None:
            held = pa.RecordBatch.from_pylist([], schema=decoder.schema)
        SOURCE_ROWS.labels(KIND).inc(held.num_rows)
        yield cdc_batch(_as_inserts(held), start)  # the position is saved with the copy's last rows
        return
    await release_up_to(conn, slot, saved.lsn)
    conversions = {
        c.name: (c.full_type, p.select)
        for c, p in zip(columns, plans, strict=True)
        if p.select != quote_ident(c.name)
    }
    names = [c.name for c in columns]
    batcher = ChangeBatcher(rel.namespace, rel.name, request.batch_rows)
    position, emitted = saved.lsn, saved.lsn
    async for lsn, data in changes(conn, slot):
        full = batcher.line(data)
        if data.startswith("COMMIT"):
            position = lsn
        if full:
            found = batcher.take()
            SOURCE_ROWS.labels(KIND).inc(len(found))
            records = await changes_as_batch(conn, found, names, conversions, decoder.decode)
            yield cdc_batch(records, CdcState(slot=slot, lsn=position))
            emitted = position
    if found := batcher.take():
        SOURCE_ROWS.labels(KIND).inc(len(found))
        records = await changes_as_batch(conn, found, names, conversions, decoder.decode)
        yield cdc_batch(records, CdcState(slot=slot, lsn=position))
    elif position != emitted:
        # Other tables' commits moved the slot's position on: saving it lets the server recycle that WAL.
        empty = pa.RecordBatch.from_pylist([], schema=decoder.schema)
        yield cdc_batch(_as_inserts(empty), CdcState(slot=slot, lsn=position))


def _as_inserts(batch: Any) -> Any:
    return batch.append_column(CHANGE_OP_COLUMN, pa.array(["insert"] * batch.num_rows, type=pa.string()))


def _cdc_state(state: Mapping[str, Any] | None, slot: str) -> CdcState | None:
    if not state or state.get("slot") != slot:
        return None
    try:
        return msgspec.convert(dict(state), CdcState)
    except msgspec.ValidationError:
        return None

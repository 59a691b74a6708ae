"""MySQL and MariaDB as a source (asyncmy): the tables and views of one database, read in full or by a cursor.

Rows stream through an unbuffered (server-side) cursor `batch_rows` at a time and become Arrow column by column
(`pa.array` over each column's values: the driver hands out Python values, so this is the one per-value step).
Columns the driver would hand out in forms Arrow cannot hold exactly are converted in the SELECT: TIME as text
(it spans ±838 hours), BIT as an unsigned integer, binary strings as base64, anything else unknown as text. The
session runs in UTC, so TIMESTAMP columns read as UTC instants; DATETIME columns stay wall-clock times.

Incremental reads work as the Postgres source's do (`cursor >= last value`, minus the primary keys already read at
that value), with the saved value cast to the column's type in SQL. Text columns are not offered as cursors:
their comparisons follow the column's collation (case-insensitive by default), which the Arrow side cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Annotated, Any

import asyncmy  # pyright: ignore[reportMissingTypeStubs]
import msgspec
from asyncmy.cursors import SSCursor  # pyright: ignore[reportMissingTypeStubs]
from msgspec import Meta

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.common import (
    CHECK_TIMEOUT_SECONDS,
    SOURCE_READ_FAILURES,
    SOURCE_ROWS,
    CursorState,
    JsonValue,
    Rebatcher,
    checking,
    config_spec,
    masked_repr,
    next_state,
    parse_config,
    previous_state,
    sql_text,
)
from headwater.ingestion.arrow import DataType, pa
from headwater.ingestion.domain.connectors import (
    CheckFailed,
    Column,
    ReadBatch,
    ReadRequest,
    Stream,
    SyncMode,
)

log = get_logger(__name__)

KIND = "mysql"

# MySQL's client error codes and server error numbers this connector tells apart
CR_CONN_HOST_ERROR = 2003
CR_SSL_CONNECTION_ERROR = 2026
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
ER_BAD_DB = 1049
ER_TABLEACCESS_DENIED = 1142
ER_NO_SUCH_TABLE = 1146
ER_SECURE_TRANSPORT_REQUIRED = 3159


class TlsMode(enum.StrEnum):
    DISABLED = "disabled"
    REQUIRED = "required"  # encrypted, the certificate not verified
    VERIFY_IDENTITY = "verify_identity"  # encrypted, the certificate and the host name verified


class MySQLConfig(msgspec.Struct, frozen=True, kw_only=True):
    host: Annotated[str, Meta(min_length=1, max_length=253, title="Host", description="Name or address")]
    port: Annotated[int, Meta(ge=1, le=65535, title="Port")] = 3306
    database: Annotated[str, Meta(min_length=1, max_length=64, title="Database")]
    username: Annotated[str, Meta(min_length=1, max_length=80, title="Username")]
    password: Annotated[
        str, Meta(max_length=1024, title="Password", extra_json_schema={"format": "password", "secret": True})
    ] = ""
    tls_mode: Annotated[
        TlsMode, Meta(title="TLS", description="disabled, required (not verified) or verify_identity")
    ] = TlsMode.DISABLED

    def __repr__(self) -> str:
        return masked_repr(self)


def _tls(mode: TlsMode) -> ssl.SSLContext | None:
    if mode == TlsMode.DISABLED:
        return None
    context = ssl.create_default_context()
    if mode == TlsMode.REQUIRED:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def connect(cfg: MySQLConfig, *, timeout: float = CHECK_TIMEOUT_SECONDS, as_text: bool = False) -> Any:
    """A connection in UTC, or `CheckFailed` saying what stopped it (the password never appears in a message).

    `as_text`: every value arrives as the server's text (no conversion to Python dates or decimals), which Arrow
    then parses in C++ (about twice the rows per second of the driver's own conversions)."""
    where = f"{cfg.host}:{cfg.port}"
    try:
        async with asyncio.timeout(timeout):
            return await asyncmy.connect(  # pyright: ignore[reportUnknownMemberType]  (untyped parameters)
                host=cfg.host,
                port=cfg.port,
                user=cfg.username,
                password=cfg.password,
                database=cfg.database,
                ssl=_tls(cfg.tls_mode),
                connect_timeout=max(1, int(timeout)),
                init_command="SET time_zone = '+00:00'",
                autocommit=True,
                charset="utf8mb4",
                conv={} if as_text else None,
            )
    except TimeoutError:
        raise CheckFailed(
            "timeout", f"{where} did not answer within {timeout:.0f} s (a firewall, or the wrong host?)"
        ) from None
    except ssl.SSLError as e:
        raise CheckFailed("tls_failed", f"the TLS handshake with {where} failed: {e.reason or e}") from None
    except asyncmy.errors.Error as e:  # pyright: ignore[reportUnknownMemberType]
        failure = _connect_failure(cfg, e)
        if (
            failure.reason == "bad_credentials"
            and cfg.tls_mode == TlsMode.DISABLED
            and await _accepts_over_tls(cfg)
        ):
            # MariaDB answers "access denied" alike to a wrong password and to a user it takes only over TLS.
            failure = CheckFailed(
                "tls_required", "the server accepts this user only over TLS: set TLS to required"
            )
        raise failure from None
    except OSError as e:
        raise CheckFailed("unreachable_host", f"{where} cannot be reached: {e.strerror or e}") from None


async def _accepts_over_tls(cfg: MySQLConfig) -> bool:
    """Whether the same login succeeds over TLS (asked only after an "access denied" without TLS)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS / 2):
            conn = await asyncmy.connect(  # pyright: ignore[reportUnknownMemberType]  (untyped parameters)
                host=cfg.host,
                port=cfg.port,
                user=cfg.username,
                password=cfg.password,
                database=cfg.database,
                ssl=_tls(TlsMode.REQUIRED),
                connect_timeout=max(1, int(CHECK_TIMEOUT_SECONDS / 2)),
            )
    except (TimeoutError, OSError, ssl.SSLError, asyncmy.errors.Error):  # pyright: ignore[reportUnknownMemberType]
        return False
    conn.close()
    return True


def _error_code(e: BaseException) -> int | None:
    code = e.args[0] if e.args else None
    return code if isinstance(code, int) else None


def _connect_failure(cfg: MySQLConfig, e: BaseException) -> CheckFailed:
    where = f"{cfg.host}:{cfg.port}"
    code, text = _error_code(e), str(e.args[1] if len(e.args) > 1 else e)
    if code == CR_CONN_HOST_ERROR:
        if "SSL" in text or "CERTIFICATE" in text:
            return CheckFailed("tls_failed", f"the TLS handshake with {where} failed: {text}")
        if "Errno 111" in text or "refused" in text.lower():
            return CheckFailed(
                "connection_refused", f"{where} refused the connection: is MySQL listening on that port?"
            )
        if "timed out" in text.lower():
            return CheckFailed("timeout", f"{where} did not answer (a firewall, or the wrong host?)")
        if "Name or service not known" in text or "Errno -" in text:
            return CheckFailed("unreachable_host", f"the host name {cfg.host!r} does not resolve")
        return CheckFailed("unreachable_host", f"{where} cannot be reached: {text}")
    if code == ER_ACCESS_DENIED:
        return CheckFailed(
            "bad_credentials",
            f"access denied for user {cfg.username!r}: wrong password, or no such user here",
        )
    if code == ER_DBACCESS_DENIED:
        return CheckFailed(
            "permission_denied",
            f"user {cfg.username!r} has no access to database {cfg.database!r} (or it is absent)",
        )
    if code == ER_BAD_DB:
        return CheckFailed("not_found", f"database {cfg.database!r} does not exist on {where}")
    if code == ER_SECURE_TRANSPORT_REQUIRED:
        return CheckFailed("tls_required", "the server accepts only TLS connections: set TLS to required")
    if code == CR_SSL_CONNECTION_ERROR or "SSL" in text:
        return CheckFailed("tls_unavailable", f"TLS with {where} failed: {text}")
    return CheckFailed("connection_failed", f"the connection to {where} failed: {text}")


@contextlib.asynccontextmanager
async def connected(cfg: MySQLConfig, *, as_text: bool = False) -> AsyncGenerator[Any]:
    conn = await connect(cfg, as_text=as_text)
    try:
        yield conn
    finally:
        conn.close()


def quote_ident(name: str) -> str:
    if not name or "\x00" in name:
        raise CheckFailed("invalid_config", f"{name!r} cannot be a MySQL name")
    return "`" + name.replace("`", "``") + "`"


# --- the catalog -----------------------------------------------------------------------------------------------

COLUMNS = """
SELECT c.TABLE_NAME, c.COLUMN_NAME, LOWER(c.DATA_TYPE), LOWER(c.COLUMN_TYPE), c.IS_NULLABLE = 'YES',
       c.NUMERIC_PRECISION, c.NUMERIC_SCALE, c.COLUMN_KEY = 'PRI', k.ORDINAL_POSITION
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
LEFT JOIN information_schema.KEY_COLUMN_USAGE k
    ON k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME AND k.COLUMN_NAME = c.COLUMN_NAME
    AND k.CONSTRAINT_NAME = 'PRIMARY'
WHERE c.TABLE_SCHEMA = %s AND (%s IS NULL OR c.TABLE_NAME = %s)
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"""


class MyColumn(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    data_type: str  # int, varchar, datetime, ...
    column_type: str  # int(10) unsigned, tinyint(1), enum('a','b'), ...
    nullable: bool
    precision: int | None
    scale: int | None

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type


class MyTable(msgspec.Struct, frozen=True, kw_only=True):
    database: str
    name: str
    columns: tuple[MyColumn, ...]
    primary_key: tuple[str, ...]

    def column(self, name: str) -> MyColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise CheckFailed("not_found", f"column {name!r} is not in {self.database}.{self.name}")


async def tables(conn: Any, database: str, name: str | None = None) -> list[MyTable]:
    async with conn.cursor() as cur:
        await cur.execute(COLUMNS, (database, name, name))
        rows: list[tuple[Any, ...]] = await cur.fetchall()
    found: dict[str, tuple[list[MyColumn], dict[int, str]]] = {}
    for table, column, data_type, column_type, nullable, precision, scale, _is_pk, pk_position in rows:
        columns, keys = found.setdefault(str(table), ([], {}))
        columns.append(
            MyColumn(
                name=str(column),
                data_type=str(data_type),
                column_type=str(column_type),
                nullable=str(nullable) == "1",  # 1, or '1' on a text connection
                precision=int(precision) if precision is not None else None,
                scale=int(scale) if scale is not None else None,
            )
        )
        if pk_position is not None:
            keys[int(pk_position)] = str(column)
    return [
        MyTable(
            database=database, name=t, columns=tuple(cols), primary_key=tuple(keys[k] for k in sorted(keys))
        )
        for t, (cols, keys) in found.items()
    ]


# --- types -----------------------------------------------------------------------------------------------------


class ColumnPlan(msgspec.Struct, frozen=True, kw_only=True):
    select: str
    arrow: DataType
    column: Column
    cast: str | None  # the SQL type a saved cursor value is cast to; None: not a cursor


def column_plan(c: MyColumn) -> ColumnPlan:
    q = quote_ident(c.name)

    def plan(select: str, json_type: str, fmt: str | None, arrow: Any, cast: str | None) -> ColumnPlan:
        column = Column(name=c.name, type=json_type, format=fmt, nullable=c.nullable)
        return ColumnPlan(select=select, arrow=arrow, column=column, cast=cast)

    integer_cast = "UNSIGNED" if c.unsigned else "SIGNED"
    match c.data_type:
        case "tinyint":
            return plan(q, "integer", None, pa.int16() if c.unsigned else pa.int8(), integer_cast)
        case "smallint":
            return plan(q, "integer", None, pa.int32() if c.unsigned else pa.int16(), integer_cast)
        case "mediumint" | "int" | "integer":
            return plan(q, "integer", None, pa.int64() if c.unsigned else pa.int32(), integer_cast)
        case "bigint":
            return plan(q, "integer", None, pa.uint64() if c.unsigned else pa.int64(), integer_cast)
        case "year":
            return plan(q, "integer", None, pa.int16(), "SIGNED")
        case "bit":
            return plan(f"CAST({q} AS UNSIGNED)", "integer", None, pa.uint64(), None)
        case "decimal" | "numeric" if c.precision is not None and c.precision <= 38:
            scale = c.scale or 0
            arrow = pa.decimal128(c.precision, scale)
            return plan(q, "number", "decimal", arrow, f"DECIMAL({c.precision}, {scale})")
        case "decimal" | "numeric":
            return plan(f"CAST({q} AS CHAR)", "string", "decimal", pa.string(), None)
        case "float":
            return plan(q, "number", None, pa.float32(), "DOUBLE")
        case "double" | "real":
            return plan(q, "number", None, pa.float64(), "DOUBLE")
        case "date":
            return plan(q, "string", "date", pa.date32(), "DATE")
        case "datetime":
            return plan(q, "string", "date-time-local", pa.timestamp("us"), "DATETIME(6)")
        case "timestamp":
            return plan(q, "string", "date-time", pa.timestamp("us", tz="UTC"), "DATETIME(6)")
        case "time":
            return plan(f"CAST({q} AS CHAR)", "string", "time", pa.string(), None)
        case "json":
            return plan(q, "object", "json", pa.string(), None)
        case "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob":
            return plan(f"REPLACE(TO_BASE64({q}), '\\n', '')", "string", "byte", pa.string(), None)
        case "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set":
            return plan(q, "string", None, pa.string(), None)
        case _:
            return plan(f"CAST({q} AS CHAR)", "string", None, pa.string(), None)


def stream_of(table: MyTable) -> Stream:
    plans = [column_plan(c) for c in table.columns]
    cursors = tuple(p.column.name for p in plans if p.cast is not None)
    modes = (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL) if cursors else (SyncMode.FULL_REFRESH,)
    return Stream(
        namespace=table.database,
        name=table.name,
        columns=tuple(p.column for p in plans),
        primary_key=table.primary_key,
        cursor_candidates=cursors,
        sync_modes=modes,
    )


def _param(value: JsonValue, plan: ColumnPlan) -> str:
    """A saved value as the text MySQL casts back (ISO date-times lose their `T` and offset: the session is UTC)."""
    if plan.cast == "DATETIME(6)" and isinstance(value, str):
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return sql_text(value)


def _to_arrow(rows: Sequence[tuple[Any, ...]], names: Sequence[str], types: Sequence[Any]) -> Any:
    """Rows of server text → typed Arrow columns (Arrow's casts parse the text: numbers, decimals, dates, times)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = [_typed(pa.array(values, type=pa.string()), t) for values, t in zip(columns, types, strict=True)]
    return pa.Table.from_arrays(arrays, names=list(names))


def _typed(text: Any, target: Any) -> Any:
    if pa.types.is_string(target):
        return text
    if pa.types.is_timestamp(target) and target.tz is not None:
        # The session is in UTC: a TIMESTAMP's text is a UTC wall-clock time.
        return text.cast(pa.timestamp(target.unit)).cast(target)
    return text.cast(target)


# --- the connector ---------------------------------------------------------------------------------------------


class MySQLSource:
    kind = KIND

    def spec(self) -> dict[str, Any]:
        return config_spec(
            MySQLConfig,
            title="MySQL / MariaDB",
            description="Tables and views of one MySQL or MariaDB database",
        )

    async def check(self, config: Mapping[str, Any]) -> None:
        cfg = parse_config(config, MySQLConfig)
        async with checking(KIND, f"{cfg.host}:{cfg.port}"), connected(cfg) as conn:
            await _some_table_readable(conn, cfg)

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = parse_config(config, MySQLConfig)
        async with connected(cfg) as conn:
            return [stream_of(t) for t in await tables(conn, cfg.database)]

    async def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]:
        cfg = parse_config(config, MySQLConfig)
        stream = request.stream
        database = stream.namespace or cfg.database
        prev = previous_state(request)
        async with connected(cfg, as_text=True) as conn:
            found = await tables(conn, database, stream.name)
            if not found:
                raise CheckFailed("not_found", f"{database}.{stream.name} does not exist or may not be read")
            table = found[0]
            names = [c.name for c in stream.columns] or [c.name for c in table.columns]
            plans = [column_plan(table.column(n)) for n in names]
            query, params = _select(table, plans, request, prev)
            types = [p.arrow for p in plans]
            rebatcher = Rebatcher(request.batch_rows)
            state, yielded = prev, False
            cur, drained = conn.cursor(SSCursor), False
            try:
                await cur.execute(query, params)
                while rows := await cur.fetchmany(request.batch_rows):
                    for batch in rebatcher.add(_to_arrow(rows, names, types)):
                        state, out = _advance(batch, request, table, state)
                        yielded = True
                        yield out
                drained = True
                for batch in rebatcher.rest():
                    state, out = _advance(batch, request, table, state)
                    yielded = True
                    yield out
            except asyncmy.errors.Error as e:  # pyright: ignore[reportUnknownMemberType]
                SOURCE_READ_FAILURES.labels(KIND).inc()
                reason = "permission_denied" if _error_code(e) == ER_TABLEACCESS_DENIED else "read_failed"
                raise CheckFailed(reason, f"reading {database}.{stream.name} failed: {e}") from None
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as e:
                SOURCE_READ_FAILURES.labels(KIND).inc()
                raise CheckFailed(
                    "read_failed", f"a value of {database}.{stream.name} has no Arrow form: {e}"
                ) from None
            finally:
                # Closing an unbuffered cursor reads the rest of its rows: a read stopped early (cancelled, or its
                # consumer gone) closes the connection instead, which the server notices at once.
                if drained:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(cur.close(), 5)
                else:
                    conn.close()
            if not yielded and request.sync_mode == SyncMode.FULL_REFRESH:
                yield ReadBatch(records=_empty(names, types), state=None)


def _empty(names: Sequence[str], types: Sequence[Any]) -> Any:
    return pa.RecordBatch.from_pylist([], schema=pa.schema(list(zip(names, types, strict=True))))


def _advance(
    batch: Any, request: ReadRequest, table: MyTable, state: CursorState | None
) -> tuple[CursorState | None, ReadBatch]:
    SOURCE_ROWS.labels(KIND).inc(batch.num_rows)
    if request.sync_mode != SyncMode.INCREMENTAL or request.cursor_field is None:
        return state, ReadBatch(records=batch, state=None)
    state = next_state(batch, request.cursor_field, table.primary_key, state)
    return state, ReadBatch(records=batch, state=state.as_state() if state else None)


def _select(
    table: MyTable, plans: Sequence[ColumnPlan], request: ReadRequest, prev: CursorState | None
) -> tuple[str, list[str]]:
    source = f"{quote_ident(table.database)}.{quote_ident(table.name)}"
    select = ", ".join(f"{p.select} AS {quote_ident(p.column.name)}" for p in plans)
    if request.sync_mode == SyncMode.FULL_REFRESH:
        return f"SELECT {select} FROM {source}", []
    if request.sync_mode != SyncMode.INCREMENTAL:
        raise CheckFailed(
            "invalid_config", f"MySQL streams are read in full or incrementally, not {request.sync_mode}"
        )
    if request.cursor_field is None:
        raise CheckFailed("invalid_config", "an incremental read needs a cursor field")
    cursor = column_plan(table.column(request.cursor_field))
    if cursor.cast is None:
        raise CheckFailed("invalid_config", f"column {request.cursor_field!r} cannot be a cursor")
    qc = quote_ident(request.cursor_field)
    params: list[str] = []
    where = f"{qc} IS NOT NULL"
    if prev is not None:
        last = f"CAST(%s AS {cursor.cast})"
        where = f"{qc} >= {last}"
        params.append(_param(prev.cursor, cursor))
        if prev.keys_at_cursor and table.primary_key:
            key_plans = [column_plan(table.column(k)) for k in table.primary_key]
            one = "(" + ", ".join(f"CAST(%s AS {p.cast})" if p.cast else "%s" for p in key_plans) + ")"
            key_cols = ", ".join(quote_ident(k) for k in table.primary_key)
            where += f" AND NOT ({qc} = {last} AND ({key_cols}) IN ({', '.join([one] * len(prev.keys_at_cursor))}))"
            params.append(_param(prev.cursor, cursor))
            for key in prev.keys_at_cursor:
                params.extend(_param(v, p) for v, p in zip(key, key_plans, strict=True))
    order = ", ".join([qc, *(quote_ident(k) for k in table.primary_key if k != request.cursor_field)])
    return f"SELECT {select} FROM {source} WHERE {where} ORDER BY {order}", params


async def _some_table_readable(conn: Any, cfg: MySQLConfig) -> None:
    """Connected; now at least one table of the database must be readable (when it has any)."""
    found = await tables(conn, cfg.database)
    if not found:
        return
    async with conn.cursor() as cur:
        for table in found[:50]:
            try:
                await cur.execute(
                    f"SELECT 1 FROM {quote_ident(cfg.database)}.{quote_ident(table.name)} LIMIT 0"
                )
                await cur.fetchall()
                return
            except asyncmy.errors.Error as e:  # pyright: ignore[reportUnknownMemberType]
                if _error_code(e) not in (ER_TABLEACCESS_DENIED, ER_NO_SUCH_TABLE):
                    raise _connect_failure(cfg, e) from None
    raise CheckFailed(
        "permission_denied",
        f"user {cfg.username!r} may SELECT none of the tables of database {cfg.database!r}",
    )

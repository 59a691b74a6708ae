"""Oracle as a source (python-oracledb in thin mode: no Oracle client libraries): tables and views of chosen
owners, read in full or by a cursor column.

Every column is selected as text Oracle writes in a fixed form (numbers with `TO_CHAR(.., 'TM9')`, dates and
timestamps in ISO form, time zones converted to UTC, RAW as hex, CLOBs as text) and Arrow's casts type it, as the
MySQL source does. Incremental reads follow the Postgres source (`cursor >= last value`, minus the primary keys
already read at it), with the saved value bound as text and converted back in SQL.

No Oracle server runs on this project's machines, so the tests cover the spec, the validation, the connection
errors and the SQL each column type gets; reads against a server are untested here. BLOB columns are not read.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Annotated, Any

import msgspec
import oracledb
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
    reach,
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

# python-oracledb's cursors answer `list[Unknown]` to a type checker; the connector holds its values as `Any`
# (every value is text by the time it is read, and Arrow types it).
ora: Any = oracledb

KIND = "oracle"
_SECRET = {"format": "password", "secret": True}
ISO_SECONDS = "'YYYY-MM-DD\"T\"HH24:MI:SS'"
ISO_MICROS = "'YYYY-MM-DD\"T\"HH24:MI:SS.FF6'"


class OracleConfig(msgspec.Struct, frozen=True, kw_only=True):
    host: Annotated[str, Meta(min_length=1, max_length=253, title="Host")]
    port: Annotated[int, Meta(ge=1, le=65535, title="Port")] = 1521
    service_name: Annotated[str, Meta(min_length=1, max_length=256, title="Service name")]
    username: Annotated[str, Meta(min_length=1, max_length=128, title="Username")]
    password: Annotated[str, Meta(max_length=1024, title="Password", extra_json_schema=_SECRET)] = ""
    owners: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=128)], ...],
        Meta(max_length=100, title="Schemas (owners)", description="Empty: the user's own schema"),
    ] = ()

    def __repr__(self) -> str:
        return masked_repr(self)


_ERRORS = {
    "ORA-01017": ("bad_credentials", "the user name or password is wrong"),
    "ORA-28000": ("bad_credentials", "the account is locked"),
    "ORA-28001": ("bad_credentials", "the password has expired"),
    "ORA-01045": ("permission_denied", "the user lacks CREATE SESSION"),
    "ORA-12514": ("not_found", "the listener does not know this service name"),
    "DPY-6001": ("not_found", "the listener does not know this service name"),
    "ORA-12505": ("not_found", "the listener does not know this SID"),
}


def _failure(cfg: OracleConfig, e: oracledb.Error) -> CheckFailed:
    error = e.args[0] if e.args else None
    code = str(getattr(error, "full_code", ""))
    if code in _ERRORS:
        reason, text = _ERRORS[code]
        return CheckFailed(reason, f"{cfg.host}:{cfg.port}/{cfg.service_name}: {text} ({code})")
    return CheckFailed(
        "connection_failed", f"{cfg.host}:{cfg.port}/{cfg.service_name}: {str(e).splitlines()[0]}"
    )


@contextlib.asynccontextmanager
async def connected(cfg: OracleConfig) -> AsyncGenerator[Any]:
    await reach(cfg.host, cfg.port)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            conn: Any = await ora.connect_async(
                user=cfg.username,
                password=cfg.password,
                host=cfg.host,
                port=cfg.port,
                service_name=cfg.service_name,
                tcp_connect_timeout=CHECK_TIMEOUT_SECONDS,
            )
    except TimeoutError:
        raise CheckFailed(
            "timeout", f"{cfg.host}:{cfg.port} did not answer within {CHECK_TIMEOUT_SECONDS:.0f} s"
        ) from None
    except oracledb.Error as e:
        raise _failure(cfg, e) from None
    try:
        yield conn
    finally:
        with contextlib.suppress(oracledb.Error):
            await conn.close()


def quote_ident(name: str) -> str:
    if not name or "\x00" in name or '"' in name:
        raise CheckFailed("invalid_config", f"{name!r} cannot be an Oracle name")
    return f'"{name}"'


# --- the catalog ---------------------------------------------------------------------------------------------------

COLUMNS = """
SELECT c.owner, c.table_name, c.column_name, c.data_type, c.data_precision, c.data_scale, c.nullable
FROM all_tab_columns c
WHERE c.owner IN ({owners}) AND (:one IS NULL OR c.table_name = :one)
ORDER BY c.owner, c.table_name, c.column_id
"""

PRIMARY_KEYS = """
SELECT k.owner, k.table_name, k.column_name
FROM all_constraints p JOIN all_cons_columns k ON k.owner = p.owner AND k.constraint_name = p.constraint_name
WHERE p.constraint_type = 'P' AND p.owner IN ({owners})
ORDER BY k.owner, k.table_name, k.position
"""


class OraColumn(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    data_type: str
    precision: int | None
    scale: int | None
    nullable: bool


class OraTable(msgspec.Struct, frozen=True, kw_only=True):
    owner: str
    name: str
    columns: tuple[OraColumn, ...]
    primary_key: tuple[str, ...]

    def column(self, name: str) -> OraColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise CheckFailed("not_found", f"column {name!r} is not in {self.owner}.{self.name}")


class ColumnPlan(msgspec.Struct, frozen=True, kw_only=True):
    select: str
    arrow: DataType
    column: Column
    to_value: str | None  # SQL turning a bound text back into the column's type; None: not a cursor


def column_plan(c: OraColumn) -> ColumnPlan:
    q = quote_ident(c.name)

    def plan(select: str, json_type: str, fmt: str | None, arrow: Any, to_value: str | None) -> ColumnPlan:
        column = Column(name=c.name, type=json_type, format=fmt, nullable=c.nullable)
        return ColumnPlan(select=select, arrow=arrow, column=column, to_value=to_value)

    kind = c.data_type
    if kind == "NUMBER":
        text = f"TO_CHAR({q}, 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''')"
        to_number = "TO_NUMBER(:v, 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''')"
        if c.precision is not None and (c.scale or 0) == 0 and c.precision <= 18:
            return plan(text, "integer", None, pa.int64(), to_number)
        if c.precision is not None and c.scale is not None and 0 <= c.scale <= c.precision <= 38:
            return plan(text, "number", "decimal", pa.decimal128(c.precision, c.scale), to_number)
        return plan(text, "string", "decimal", pa.string(), to_number)
    if kind in ("FLOAT", "BINARY_DOUBLE"):
        return plan(
            f"TO_CHAR({q}, 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''')", "number", None, pa.float64(), None
        )
    if kind == "BINARY_FLOAT":
        return plan(
            f"TO_CHAR({q}, 'TM9', 'NLS_NUMERIC_CHARACTERS=''.,''')", "number", None, pa.float32(), None
        )
    if kind == "DATE":
        return plan(
            f"TO_CHAR({q}, {ISO_SECONDS})",
            "string",
            "date-time-local",
            pa.timestamp("us"),
            f"TO_DATE(:v, {ISO_SECONDS})",
        )
    if kind.startswith("TIMESTAMP") and "TIME ZONE" in kind:
        return plan(
            f"TO_CHAR(SYS_EXTRACT_UTC({q}), {ISO_MICROS})",
            "string",
            "date-time",
            pa.timestamp("us", tz="UTC"),
            f"FROM_TZ(TO_TIMESTAMP(:v, {ISO_MICROS}), 'UTC')",
        )
    if kind.startswith("TIMESTAMP"):
        return plan(
            f"TO_CHAR({q}, {ISO_MICROS})",
            "string",
            "date-time-local",
            pa.timestamp("us"),
            f"TO_TIMESTAMP(:v, {ISO_MICROS})",
        )
    if kind in ("VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR"):
        return plan(q, "string", None, pa.string(), None)
    if kind in ("CLOB", "NCLOB", "LONG"):
        return plan(q, "string", None, pa.string(), None)
    if kind == "RAW":
        return plan(f"RAWTOHEX({q})", "string", "hex", pa.string(), None)
    return plan(f"TO_CHAR({q})", "string", None, pa.string(), None)


async def tables(
    conn: oracledb.AsyncConnection, owners: Sequence[str], one: str | None = None
) -> list[OraTable]:
    binds = {f"o{i}": owner for i, owner in enumerate(owners)}
    in_list = ", ".join(f":{name}" for name in binds)
    cursor: Any = conn.cursor()
    await cursor.execute(COLUMNS.format(owners=in_list), {**binds, "one": one})
    rows = await cursor.fetchall()
    await cursor.execute(PRIMARY_KEYS.format(owners=in_list), binds)
    keys: dict[tuple[str, str], list[str]] = {}
    for owner, table, column in await cursor.fetchall():
        keys.setdefault((str(owner), str(table)), []).append(str(column))
    found: dict[tuple[str, str], list[OraColumn]] = {}
    for owner, table, column, data_type, precision, scale, nullable in rows:
        found.setdefault((str(owner), str(table)), []).append(
            OraColumn(
                name=str(column),
                data_type=str(data_type),
                precision=int(precision) if precision is not None else None,
                scale=int(scale) if scale is not None else None,
                nullable=nullable == "Y",
            )
        )
    return [
        OraTable(owner=o, name=t, columns=tuple(cols), primary_key=tuple(keys.get((o, t), [])))
        for (o, t), cols in found.items()
    ]


def stream_of(table: OraTable) -> Stream:
    plans = [column_plan(c) for c in table.columns if c.data_type != "BLOB"]
    cursors = tuple(p.column.name for p in plans if p.to_value is not None)
    modes = (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL) if cursors else (SyncMode.FULL_REFRESH,)
    return Stream(
        namespace=table.owner,
        name=table.name,
        columns=tuple(p.column for p in plans),
        primary_key=table.primary_key,
        cursor_candidates=cursors,
        sync_modes=modes,
    )


def select_sql(
    table: OraTable, plans: Sequence[ColumnPlan], request: ReadRequest, prev: CursorState | None
) -> tuple[str, dict[str, str]]:
    """The query of a read and its bound values (every saved value bound as text, converted in SQL)."""
    source = f"{quote_ident(table.owner)}.{quote_ident(table.name)}"
    select = ", ".join(f"{p.select} AS {quote_ident(p.column.name)}" for p in plans)
    if request.sync_mode == SyncMode.FULL_REFRESH:
        return f"SELECT {select} FROM {source}", {}
    if request.sync_mode != SyncMode.INCREMENTAL or not request.cursor_field:
        raise CheckFailed(
            "invalid_config", "Oracle streams are read in full, or incrementally with a cursor field"
        )
    cursor = column_plan(table.column(request.cursor_field))
    if cursor.to_value is None:
        raise CheckFailed("invalid_config", f"column {request.cursor_field!r} cannot be a cursor")
    qc = quote_ident(request.cursor_field)
    binds: dict[str, str] = {}
    where = f"{qc} IS NOT NULL"
    if prev is not None:
        binds["c0"] = _bound(prev.cursor, cursor)
        last = cursor.to_value.replace(":v", ":c0")
        where = f"{qc} >= {last}"
        if prev.keys_at_cursor and table.primary_key:
            key_plans = [column_plan(table.column(k)) for k in table.primary_key]
            tuples: list[str] = []
            for i, key in enumerate(prev.keys_at_cursor):
                parts: list[str] = []
                for j, (value, p) in enumerate(zip(key, key_plans, strict=True)):
                    name = f"k{i}_{j}"
                    binds[name] = _bound(value, p)
                    parts.append(p.to_value.replace(":v", f":{name}") if p.to_value else f":{name}")
                tuples.append("(" + ", ".join(parts) + ")")
            key_cols = ", ".join(quote_ident(k) for k in table.primary_key)
            where += f" AND NOT ({qc} = {last} AND ({key_cols}) IN ({', '.join(tuples)}))"
    order = ", ".join([qc, *(quote_ident(k) for k in table.primary_key if k != request.cursor_field)])
    return f"SELECT {select} FROM {source} WHERE {where} ORDER BY {order}", binds


def _bound(value: JsonValue, plan: ColumnPlan) -> str:
    """A saved value as the text its `to_value` SQL reads (date-times in the ISO form of the select, in UTC)."""
    if isinstance(value, str) and plan.to_value and "TO_DATE" in plan.to_value:
        return dt.datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, str) and plan.to_value and "TO_TIMESTAMP" in plan.to_value:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return sql_text(value)


def _typed(values: Sequence[Any], target: Any) -> Any:
    text = pa.array(values, type=pa.string())
    if pa.types.is_string(target):
        return text
    if pa.types.is_timestamp(target) and target.tz is not None:
        return text.cast(pa.timestamp(target.unit)).cast(target)
    return text.cast(target)


def _clob_as_text(cursor: Any, metadata: Any) -> Any:
    if metadata.type_code in (ora.DB_TYPE_CLOB, ora.DB_TYPE_NCLOB):
        return cursor.var(ora.DB_TYPE_LONG, arraysize=cursor.arraysize)
    return None


class OracleSource:
    kind = KIND

    def spec(self) -> dict[str, Any]:
        return config_spec(OracleConfig, title="Oracle", description="Tables and views of Oracle schemas")

    async def check(self, config: Mapping[str, Any]) -> None:
        cfg = parse_config(config, OracleConfig)
        async with checking(KIND, f"{cfg.host}:{cfg.port}"):
            try:
                async with connected(cfg) as conn:
                    cursor: Any = conn.cursor()
                    await cursor.execute("SELECT 1 FROM dual")
                    await cursor.fetchall()
            except oracledb.Error as e:
                raise _failure(cfg, e) from None

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = parse_config(config, OracleConfig)
        async with connected(cfg) as conn:
            try:
                return [stream_of(t) for t in await tables(conn, cfg.owners or (cfg.username.upper(),))]
            except oracledb.Error as e:
                raise _failure(cfg, e) from None

    async def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]:
        cfg = parse_config(config, OracleConfig)
        owner = request.stream.namespace or cfg.username.upper()
        prev = previous_state(request)
        async with connected(cfg) as conn:
            try:
                found = await tables(conn, [owner], request.stream.name)
                if not found:
                    raise CheckFailed(
                        "not_found", f"{owner}.{request.stream.name} does not exist or may not be read"
                    )
                table = found[0]
                names = [c.name for c in request.stream.columns] or [
                    c.name for c in table.columns if c.data_type != "BLOB"
                ]
                plans = [column_plan(table.column(n)) for n in names]
                query, binds = select_sql(table, plans, request, prev)
                cursor: Any = conn.cursor()
                cursor.arraysize = min(request.batch_rows, 10_000)
                cursor.outputtypehandler = _clob_as_text
                await cursor.execute(query, binds)
                rebatcher, state = Rebatcher(request.batch_rows), prev
                while rows := await cursor.fetchmany(request.batch_rows):
                    columns = list(zip(*rows, strict=True))
                    arrays = [_typed(v, p.arrow) for v, p in zip(columns, plans, strict=True)]
                    for batch in rebatcher.add(pa.Table.from_arrays(arrays, names=names)):
                        state, out = _advance(batch, request, table, state)
                        yield out
                for batch in rebatcher.rest():
                    state, out = _advance(batch, request, table, state)
                    yield out
            except oracledb.Error as e:
                SOURCE_READ_FAILURES.labels(KIND).inc()
                raise CheckFailed(
                    "read_failed", f"reading {owner}.{request.stream.name} failed: {e}"
                ) from None
            except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                SOURCE_READ_FAILURES.labels(KIND).inc()
                raise CheckFailed(
                    "read_failed", f"a value of {owner}.{request.stream.name} has no Arrow form: {e}"
                ) from None


def _advance(
    batch: Any, request: ReadRequest, table: OraTable, state: CursorState | None
) -> tuple[CursorState | None, ReadBatch]:
    SOURCE_ROWS.labels(KIND).inc(batch.num_rows)
    if request.sync_mode != SyncMode.INCREMENTAL or request.cursor_field is None:
        return state, ReadBatch(records=batch, state=None)
    state = next_state(batch, request.cursor_field, table.primary_key, state)
    return state, ReadBatch(records=batch, state=state.as_state() if state else None)

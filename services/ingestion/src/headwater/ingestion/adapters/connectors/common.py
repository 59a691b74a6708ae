"""What every source connector shares: typed configurations and their JSON Schema, Arrow re-batching, the state
of an incremental read (cursor and the keys already read at it), and the metrics of checks and reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import msgspec
from prometheus_client import Counter

from headwater.common.logging import get_logger
from headwater.ingestion.arrow import RecordBatch, pa, pc
from headwater.ingestion.domain.connectors import CheckFailed, ReadRequest, SyncMode
from headwater.ingestion.domain.syncs import secret_fields

log = get_logger(__name__)

CHECK_TIMEOUT_SECONDS = 10.0  # a UI waits on a check: it answers within this, whatever the network does

SOURCE_CHECKS = Counter(
    "headwater_ingestion_source_checks_total",
    "Source connection checks, by connector and outcome",
    ["kind", "outcome"],
)
SOURCE_ROWS = Counter(
    "headwater_ingestion_source_rows_total", "Rows read from sources, by connector", ["kind"]
)
SOURCE_READ_FAILURES = Counter(
    "headwater_ingestion_source_read_failures_total", "Stream reads that failed, by connector", ["kind"]
)

C = TypeVar("C", bound=msgspec.Struct)


@asynccontextmanager
async def checking(kind: str, where: str) -> AsyncGenerator[None]:
    """The frame of a source's `check`: the block runs within `CHECK_TIMEOUT_SECONDS` (a timeout says `where` did
    not answer), and its outcome is counted by reason; a failure is logged without the configuration."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            yield
    except TimeoutError:
        SOURCE_CHECKS.labels(kind, "timeout").inc()
        raise CheckFailed("timeout", f"{where} did not answer within {CHECK_TIMEOUT_SECONDS:.0f} s") from None
    except CheckFailed as e:
        SOURCE_CHECKS.labels(kind, e.reason).inc()
        log.info("source check failed", kind=kind, reason=e.reason)
        raise
    SOURCE_CHECKS.labels(kind, "ok").inc()


async def reach(host: str, port: int) -> None:
    """A TCP connection to host:port and nothing more, or `CheckFailed` saying why not: drivers that retry until a
    timeout (MongoDB's server selection) or wrap every failure in one error get a precise answer at once."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise CheckFailed(
            "timeout", f"{host}:{port} did not answer within {CHECK_TIMEOUT_SECONDS:.0f} s"
        ) from None
    except socket.gaierror:
        raise CheckFailed("unreachable_host", f"the host name {host!r} does not resolve") from None
    except ConnectionRefusedError:
        raise CheckFailed(
            "connection_refused", f"{host}:{port} refused the connection: is the server listening there?"
        ) from None
    except OSError as e:
        raise CheckFailed("unreachable_host", f"{host}:{port} cannot be reached: {e.strerror or e}") from None
    writer.close()


def parse_config(config: Mapping[str, Any], cls: type[C]) -> C:
    """`config` as the connector's typed configuration, or `CheckFailed("invalid_config")` naming the field.

    msgspec's message names the failing field (`... - at `$.port``) and never echoes the value, so a password
    never reaches a message or a log."""
    try:
        return msgspec.convert(dict(config), cls, strict=False)
    except msgspec.ValidationError as e:
        raise CheckFailed("invalid_config", f"invalid configuration: {e}") from None


def config_spec(cls: type[msgspec.Struct], *, title: str, description: str) -> dict[str, Any]:
    """The JSON Schema of a configuration Struct, references inlined (a form renderer needs no `$defs`)."""
    (schema,), components = msgspec.json.schema_components([cls], ref_template="#/$defs/{name}")

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            mapping = cast("dict[str, Any]", node)
            ref = mapping.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                siblings = {k: inline(v) for k, v in mapping.items() if k != "$ref"}  # title, default, ...
                return {**inline(components[ref.removeprefix("#/$defs/")]), **siblings}
            return {k: inline(v) for k, v in mapping.items()}
        if isinstance(node, list):
            return [inline(v) for v in cast("list[Any]", node)]
        return node

    inlined: dict[str, Any] = inline(schema)
    inlined.pop("title", None)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
        **inlined,
    }


def masked_repr(config: msgspec.Struct) -> str:
    """A configuration's repr with its secret fields masked (a traceback or a debug print shows no password)."""
    secrets = secret_fields(config_spec(type(config), title="", description=""))
    shown = ", ".join(
        f"{name}={'***' if name in secrets and getattr(config, name) else repr(getattr(config, name))}"
        for name in config.__struct_fields__
    )
    return f"{type(config).__name__}({shown})"


class Rebatcher:
    """Arrow tables of any size in, record batches of exactly `rows` rows out (the last one may be shorter)."""

    def __init__(self, rows: int) -> None:
        if rows < 1:
            raise ValueError("batch_rows must be at least 1")
        self._rows = rows
        self._pending: list[Any] = []
        self._pending_rows = 0

    def add(self, table: Any) -> Iterator[RecordBatch]:
        if table.num_rows:
            self._pending.append(table)
            self._pending_rows += table.num_rows
        while self._pending_rows >= self._rows:
            yield self._take(self._rows)

    def rest(self) -> Iterator[RecordBatch]:
        if self._pending_rows:
            yield self._take(self._pending_rows)

    def _take(self, rows: int) -> RecordBatch:
        whole = pa.concat_tables(self._pending) if len(self._pending) > 1 else self._pending[0]
        head, tail = whole.slice(0, rows), whole.slice(rows)
        self._pending = [tail] if tail.num_rows else []
        self._pending_rows = tail.num_rows
        return head.combine_chunks().to_batches(max_chunksize=rows)[0]


# --- incremental reads -------------------------------------------------------------------------------------------

JsonValue = int | float | str | bool


def json_value(value: Any) -> JsonValue:
    """A cursor or key value as JSON (saved in state) that `sql_text` turns back into the exact same value."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)  # Decimal, UUID, ...: their text is exact


def sql_text(value: JsonValue) -> str:
    """The text a database reads back as the value (`json_value`'s inverse once cast to the column's type)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class CursorState(msgspec.Struct, frozen=True, kw_only=True):
    """Where an incremental read stopped: the last cursor value read and the primary keys of the rows read at that
    value, so a read resuming with `cursor >= value` skips exactly those rows (rows sharing the last value that
    were not read yet, or were written since, are still read)."""

    cursor_field: str
    cursor: JsonValue
    keys_at_cursor: list[list[JsonValue]] = []

    def as_state(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)


def previous_state(request: ReadRequest) -> CursorState | None:
    """The saved state if it is one of an incremental read on the same cursor field (another field starts over)."""
    if request.sync_mode != SyncMode.INCREMENTAL or not request.state or "cursor" not in request.state:
        return None
    try:
        state = msgspec.convert(dict(request.state), CursorState)
    except msgspec.ValidationError:
        raise CheckFailed(
            "invalid_config", "the saved state of this stream is not one this connector wrote"
        ) from None
    return state if state.cursor_field == request.cursor_field else None


def next_state(
    batch: RecordBatch, cursor_field: str, primary_key: Sequence[str], before: CursorState | None
) -> CursorState | None:
    """The state after `batch`, whose rows are ordered by the cursor column: its last value and the keys read at it."""
    if batch.num_rows == 0:
        return before
    column = batch.column(cursor_field)
    last = column[batch.num_rows - 1].as_py()
    if last is None:
        return before
    cursor = json_value(last)
    keys: list[list[JsonValue]] = []
    if primary_key:
        at_last = batch.filter(pc.equal(column, column[batch.num_rows - 1]))
        key_columns = [at_last.column(k).to_pylist() for k in primary_key]
        keys = [[json_value(v) for v in row] for row in zip(*key_columns, strict=True)]
        if before is not None and before.cursor == cursor:
            keys = before.keys_at_cursor + keys
    return CursorState(cursor_field=cursor_field, cursor=cursor, keys_at_cursor=keys)


def arrow_schema(fields: Sequence[tuple[str, Any]]) -> Any:
    return pa.schema([pa.field(name, type_) for name, type_ in fields])

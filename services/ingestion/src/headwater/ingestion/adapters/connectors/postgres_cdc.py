"""Change data capture for the Postgres source: a logical replication slot per stream, decoded by `test_decoding`.

What it needs from the server: `wal_level = logical`, a user with the REPLICATION attribute (or a superuser) and
SELECT on the table, and a primary key on the table (a destination applies changes by key). It works through SQL
alone (`pg_logical_slot_peek_changes`), so any Postgres 10+ with the `test_decoding` module (shipped with Postgres)
serves, with no publication to create and no replication connection.

A first read (no state) creates the stream's slot, then copies the whole table: changes committed after the slot
was made may also be in the copy, and apply again harmlessly by key. Its last batch carries the state
`{"slot", "lsn"}`. A later read first moves the slot up to the saved LSN (the changes the destination committed,
and only those, are released), then reads every change up to the current WAL position, transaction by
transaction: a batch always ends at a commit, and its state is that commit's LSN. A sync killed before saving the
state reads the same changes again. Each row carries `_op` (`insert`, `update`, `delete`); a delete carries the
key columns only, and an update that changes the key is a delete of the old key and an update of the new one.

Limits: a value stored out of line (TOAST) that an update leaves unchanged arrives as NULL unless the table has
`REPLICA IDENTITY FULL`; a slot holds WAL back until it is read again, so a dropped job must drop its slots
(`drop_slot`); TRUNCATE is not carried.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import msgspec

from headwater.common.logging import get_logger
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CHANGE_OP_COLUMN, CheckFailed, ReadBatch

log = get_logger(__name__)

DECODER = "test_decoding"
DECODER_OPTIONS = ("include-xids", "0", "skip-empty-xacts", "1")
PEEK_PREFETCH = 5_000
UNCHANGED_TOAST = object()  # a column an update left unchanged and the decoder did not repeat

CAPABILITY = """
SELECT current_setting('wal_level') = 'logical' AS logical,
       (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS may_replicate
"""


class CdcState(msgspec.Struct, frozen=True, kw_only=True):
    slot: str
    lsn: str  # the commit up to which the destination holds the changes ('X/Y', as Postgres writes an LSN)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    namespace: str
    table: str
    op: str  # insert | update | delete
    values: dict[str, Any]  # column -> text (None: NULL; UNCHANGED_TOAST: not sent)


async def missing_for_cdc(conn: asyncpg.Connection) -> list[str]:
    """What this server and user lack for CDC (empty: nothing)."""
    row = await conn.fetchrow(CAPABILITY)
    assert row is not None
    missing: list[str] = []
    if not row["logical"]:
        missing.append("the server's wal_level is not `logical` (set it and restart Postgres)")
    if not row["may_replicate"]:
        missing.append("the user lacks the REPLICATION attribute (ALTER ROLE ... REPLICATION)")
    return missing


def slot_name(prefix: str, database: str, namespace: str, table: str) -> str:
    """One slot per (database, table) and prefix: a name Postgres accepts ([a-z0-9_], at most 63 characters)."""
    digest = hashlib.sha256(f"{database}\x00{namespace}\x00{table}".encode()).hexdigest()[:20]
    return f"{prefix}_{digest}"


async def drop_slot(conn: asyncpg.Connection, slot: str) -> bool:
    """Drops the slot if it exists and nobody reads it; True if it was dropped."""
    return bool(
        await conn.fetchval(
            "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots"
            " WHERE slot_name = $1 AND NOT active",
            slot,
        )
    )


async def create_slot(conn: asyncpg.Connection, slot: str) -> str:
    """A fresh slot (any old one of that name dropped first); its start LSN."""
    await drop_slot(conn, slot)
    try:
        return str(
            await conn.fetchval(
                "SELECT lsn::text FROM pg_create_logical_replication_slot($1, $2)", slot, DECODER
            )
        )
    except asyncpg.PostgresError as e:
        raise CheckFailed("cdc_unavailable", f"creating the replication slot {slot} failed: {e}") from None


def lsn_value(lsn: str) -> int:
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


async def release_up_to(conn: asyncpg.Connection, slot: str, lsn: str) -> None:
    """Moves the slot's confirmed position up to `lsn` (never back): the changes before it are the destination's."""
    confirmed = await conn.fetchval(
        "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", slot
    )
    if confirmed is None:
        raise CheckFailed(
            "not_found",
            f"the replication slot {slot} of this stream is gone: the stream must be read in full again (reset it)",
        )
    if lsn_value(lsn) < lsn_value(str(confirmed)):
        raise CheckFailed(
            "invalid_config",
            f"the replication slot {slot} is past the saved position {lsn}: something else consumed it; reset the stream",
        )
    if lsn_value(lsn) > lsn_value(str(confirmed)):
        await conn.execute("SELECT pg_replication_slot_advance($1, $2::text::pg_lsn)", slot, lsn)


async def changes(conn: asyncpg.Connection, slot: str) -> AsyncIterator[tuple[str, str]]:
    """(lsn, text) of every decoded line up to the WAL position at the start, read through a server-side cursor."""
    upto = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    options = ", ".join(f"'{o}'" for o in DECODER_OPTIONS)
    query = f"SELECT lsn::text, data FROM pg_logical_slot_peek_changes($1, $2::text::pg_lsn, NULL, {options})"
    async with conn.transaction(readonly=True):
        async for row in conn.cursor(query, slot, upto, prefetch=PEEK_PREFETCH):
            yield str(row["lsn"]), str(row["data"])


# --- test_decoding's text ------------------------------------------------------------------------------------------


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def expect(self, literal: str) -> None:
        if not self.text.startswith(literal, self.pos):
            raise ValueError(f"expected {literal!r} at {self.pos} of a decoded change")
        self.pos += len(literal)

    def identifier(self, stops: str) -> str:
        t = self.text
        if t.startswith('"', self.pos):
            out: list[str] = []
            i = self.pos + 1
            while True:
                j = t.index('"', i)
                out.append(t[i:j])
                if t.startswith('"', j + 1):  # a doubled quote
                    out.append('"')
                    i = j + 2
                    continue
                self.pos = j + 1
                return "".join(out)
        j = self.pos
        while j < len(t) and t[j] not in stops:
            j += 1
        name, self.pos = t[self.pos : j], j
        return name

    def column(self) -> tuple[str, str, Any]:
        name = self.identifier("[")
        self.expect("[")
        end = self.text.index("]:", self.pos)
        type_name = self.text[self.pos : end]
        self.pos = end + 2
        return name, type_name, self.value()

    def value(self) -> Any:
        t = self.text
        if t.startswith("'", self.pos):
            out: list[str] = []
            i = self.pos + 1
            while True:
                j = t.index("'", i)
                out.append(t[i:j])
                if t.startswith("'", j + 1):
                    out.append("'")
                    i = j + 2
                    continue
                self.pos = j + 1
                return "".join(out)
        j = t.find(" ", self.pos)
        j = len(t) if j < 0 else j
        word, self.pos = t[self.pos : j], j
        if word == "null":
            return None
        if word == "unchanged-toast-datum":
            return UNCHANGED_TOAST
        return {"true": "t", "false": "f"}.get(word, word)

    def tuple(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        while not self.done():
            if self.text.startswith(" ", self.pos):
                self.pos += 1
            if self.text.startswith("new-tuple:", self.pos):
                break
            name, _, value = self.column()
            values[name] = value
        return values


def parse_change(line: str) -> list[Change]:
    """The changes one `test_decoding` line says (none for BEGIN / COMMIT / TRUNCATE / a message)."""
    if not line.startswith("table "):
        return []
    s = _Scanner(line)
    s.expect("table ")
    namespace = s.identifier(".")
    s.expect(".")
    table = s.identifier(":")
    s.expect(": ")
    op_end = line.index(":", s.pos)
    op = line[s.pos : op_end]
    s.pos = op_end + 1
    if op not in ("INSERT", "UPDATE", "DELETE"):
        return []
    rest = line[s.pos :]
    if rest.strip() == "(no-tuple-data)":
        return []
    if op == "UPDATE" and rest.startswith(" old-key:"):
        s.expect(" old-key:")
        old = s.tuple()
        s.expect("new-tuple:")
        new = s.tuple()
        return [
            Change(namespace=namespace, table=table, op="delete", values=old),
            Change(namespace=namespace, table=table, op="update", values=new),
        ]
    return [Change(namespace=namespace, table=table, op=op.lower(), values=s.tuple())]


# --- changes as Arrow --------------------------------------------------------------------------------------------


class ChangeBatcher:
    """Changes of one table, gathered per transaction and cut into batches at commits."""

    def __init__(self, namespace: str, table: str, batch_rows: int) -> None:
        self._namespace, self._table, self._rows = namespace, table, batch_rows
        self._pending: list[Change] = []
        self._in_transaction: list[Change] = []

    def line(self, data: str) -> bool:
        """Takes one decoded line; True at a commit once a full batch is pending."""
        if data == "COMMIT" or data.startswith("COMMIT "):
            self._pending.extend(self._in_transaction)
            self._in_transaction = []
            return len(self._pending) >= self._rows
        if data.startswith("table "):
            for change in parse_change(data):
                if change.namespace == self._namespace and change.table == self._table:
                    self._in_transaction.append(change)
        return False

    def take(self) -> list[Change]:
        out, self._pending = self._pending, []
        return out


async def changes_as_batch(
    conn: asyncpg.Connection,
    found: Sequence[Change],
    names: Sequence[str],
    conversions: dict[str, tuple[str, str]],
    decode: Any,
) -> Any:
    """The changes as one Arrow record batch, typed exactly as a full read types the same columns.

    The decoder writes each value as its type's text; columns a full read selects through an expression (arrays
    as JSON, bytea as base64) get the same expression here, in one query per such column."""
    columns: dict[str, list[Any]] = {n: [c.values.get(n) for c in found] for n in names}
    for name, (full_type, expression) in conversions.items():
        texts = [None if v is UNCHANGED_TOAST else v for v in columns[name]]
        rows = await conn.fetch(
            f"SELECT {expression} AS v FROM (SELECT u.v::{full_type} AS {_quote(name)}, u.i"
            " FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i)) s ORDER BY s.i",
            texts,
        )
        columns[name] = [r["v"] for r in rows]
    lines: list[str] = []
    for i in range(len(found)):
        fields: list[str] = []
        for n in names:
            v = columns[n][i]
            fields.append("" if v is None or v is UNCHANGED_TOAST else '"' + str(v).replace('"', '""') + '"')
        lines.append(",".join(fields))
    table = decode(("\n".join(lines) + "\n").encode())
    ops = pa.array([c.op for c in found], type=pa.string())
    return table.append_column(CHANGE_OP_COLUMN, ops).combine_chunks().to_batches()[0]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cdc_batch(records: Any, state: CdcState | None) -> ReadBatch:
    return ReadBatch(records=records, state=msgspec.to_builtins(state) if state else None)

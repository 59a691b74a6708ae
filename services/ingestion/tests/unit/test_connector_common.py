"""The pieces every source connector shares: configurations checked and described by one Struct, secrets masked,
Arrow re-batching to an exact size, and the incremental state (last cursor value and the keys read at it)."""

from __future__ import annotations

import pytest

from headwater.ingestion.adapters.connectors.common import (
    CursorState,
    Rebatcher,
    next_state,
    parse_config,
)
from headwater.ingestion.adapters.connectors.mysql import MySQLConfig
from headwater.ingestion.adapters.connectors.postgres import PostgresConfig, PostgresSource
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CheckFailed
from headwater.ingestion.domain.syncs import secret_fields


def test_a_config_off_its_spec_fails_naming_the_field_and_never_the_secret() -> None:
    with pytest.raises(CheckFailed) as failed:
        parse_config({"host": "h", "database": "d", "username": "u", "password": 12345}, PostgresConfig)
    assert failed.value.reason == "invalid_config"
    assert "$.password" in failed.value.message
    assert "12345" not in failed.value.message
    with pytest.raises(CheckFailed, match="missing required field `host`"):
        parse_config({"database": "d", "username": "u"}, MySQLConfig)


def test_spec_and_repr_agree_on_what_is_secret() -> None:
    assert secret_fields(PostgresSource().spec()) == {"password"}
    cfg = parse_config({"host": "h", "database": "d", "username": "u", "password": "hunter2"}, PostgresConfig)
    assert "hunter2" not in repr(cfg)
    assert "password=***" in repr(cfg)


def test_rebatcher_cuts_exact_sizes_across_inputs() -> None:
    rebatcher = Rebatcher(4)
    out = [
        b.num_rows
        for t in (pa.table({"a": [1, 2, 3]}), pa.table({"a": [4, 5, 6, 7, 8, 9]}))
        for b in rebatcher.add(t)
    ]
    out += [b.num_rows for b in rebatcher.rest()]
    assert out == [4, 4, 1]
    with pytest.raises(ValueError, match="at least 1"):
        Rebatcher(0)


def test_next_state_keeps_the_keys_read_at_the_last_cursor_value() -> None:
    batch = pa.RecordBatch.from_pydict({"id": [1, 2, 3], "v": [5, 7, 7]})
    state = next_state(batch, "v", ("id",), None)
    assert state == CursorState(cursor_field="v", cursor=7, keys_at_cursor=[[2], [3]])
    more = next_state(pa.RecordBatch.from_pydict({"id": [4], "v": [7]}), "v", ("id",), state)
    assert more is not None
    assert more.keys_at_cursor == [[2], [3], [4]]
    moved = next_state(pa.RecordBatch.from_pydict({"id": [5], "v": [8]}), "v", ("id",), more)
    assert moved == CursorState(cursor_field="v", cursor=8, keys_at_cursor=[[5]])

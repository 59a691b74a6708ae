"""The Oracle source where no Oracle server can run: its spec, its validation, its connection errors, and the SQL
each column type and an incremental resume get."""

from __future__ import annotations

import pytest

from headwater.ingestion.adapters.connectors.common import CursorState
from headwater.ingestion.adapters.connectors.oracle import (
    OracleSource,
    OraColumn,
    OraTable,
    column_plan,
    select_sql,
    stream_of,
)
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CheckFailed, ReadRequest, SyncMode
from headwater.ingestion.testing import free_port

pytestmark = pytest.mark.integration

ORACLE = OracleSource()
TABLE = OraTable(
    owner="SHOP",
    name="ORDERS",
    columns=(
        OraColumn(name="ID", data_type="NUMBER", precision=10, scale=0, nullable=False),
        OraColumn(name="PRICE", data_type="NUMBER", precision=12, scale=2, nullable=True),
        OraColumn(name="ANY_NUMBER", data_type="NUMBER", precision=None, scale=None, nullable=True),
        OraColumn(
            name="PLACED", data_type="TIMESTAMP(6) WITH TIME ZONE", precision=None, scale=6, nullable=True
        ),
        OraColumn(name="DAY", data_type="DATE", precision=None, scale=None, nullable=True),
        OraColumn(name="NOTE", data_type="VARCHAR2", precision=None, scale=None, nullable=True),
        OraColumn(name="PHOTO", data_type="BLOB", precision=None, scale=None, nullable=True),
    ),
    primary_key=("ID",),
)


async def reason_of(config: dict[str, object]) -> str:
    with pytest.raises(CheckFailed) as failed:
        await ORACLE.check(config)
    assert "pw-secret" not in failed.value.message
    return failed.value.reason


async def test_check_answers_a_closed_port_an_unknown_host_and_a_bad_config() -> None:
    base = {"service_name": "FREEPDB1", "username": "shop", "password": "pw-secret"}
    assert await reason_of({**base, "host": "127.0.0.1", "port": free_port()}) == "connection_refused"
    assert await reason_of({**base, "host": "no-such-host.invalid"}) == "unreachable_host"
    assert await reason_of({**base, "host": "127.0.0.1", "port": 0}) == "invalid_config"
    assert await reason_of({"host": "db"}) == "invalid_config"
    assert ORACLE.spec()["properties"]["password"]["secret"] is True


def test_each_type_is_read_as_text_arrow_can_type() -> None:
    plans = {c.name: column_plan(c) for c in TABLE.columns}
    assert plans["ID"].arrow == pa.int64()
    assert plans["PRICE"].arrow == pa.decimal128(12, 2)
    assert plans["ANY_NUMBER"].arrow == pa.string()
    assert plans["PLACED"].arrow == pa.timestamp("us", tz="UTC")
    assert "SYS_EXTRACT_UTC" in plans["PLACED"].select
    assert plans["DAY"].arrow == pa.timestamp("us")
    stream = stream_of(TABLE)
    assert [c.name for c in stream.columns] == [
        "ID",
        "PRICE",
        "ANY_NUMBER",
        "PLACED",
        "DAY",
        "NOTE",
    ]  # no BLOB
    assert stream.cursor_candidates == ("ID", "PRICE", "ANY_NUMBER", "PLACED", "DAY")
    assert stream.sync_modes == (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL)


def test_an_incremental_resume_binds_the_saved_values_as_text() -> None:
    stream = stream_of(TABLE)
    plans = [column_plan(c) for c in TABLE.columns if c.name != "PHOTO"]
    state = CursorState(cursor_field="PLACED", cursor="2024-05-01T12:00:00+02:00", keys_at_cursor=[[7], [9]])
    request = ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="PLACED")
    query, binds = select_sql(TABLE, plans, request, state)
    assert binds == {"c0": "2024-05-01T10:00:00.000000", "k0_0": "7", "k1_0": "9"}
    assert '"PLACED" >= FROM_TZ(TO_TIMESTAMP(:c0' in query
    assert 'AND NOT ("PLACED" = FROM_TZ' in query
    assert query.endswith('ORDER BY "PLACED", "ID"')
    with pytest.raises(CheckFailed, match="NOTE"):
        select_sql(
            TABLE,
            plans,
            ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, cursor_field="NOTE"),
            None,
        )

"""The MongoDB source where no MongoDB server can run (none is packaged for Debian): its spec, its validation,
its connection errors, and the conversion of documents and of the incremental state, on real BSON values."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from bson import Binary, Decimal128, ObjectId, json_util

from headwater.ingestion.adapters.connectors.json_records import to_batch
from headwater.ingestion.adapters.connectors.mongodb import (
    EJSON,
    MongoSource,
    MongoState,
    advance,
    columns_of,
    record,
    resume_filter,
)
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CheckFailed
from headwater.ingestion.testing import free_port

pytestmark = pytest.mark.integration

MONGO = MongoSource()


async def reason_of(config: dict[str, object]) -> str:
    with pytest.raises(CheckFailed) as failed:
        await MONGO.check(config)
    assert "pw-secret" not in failed.value.message
    return failed.value.reason


async def test_check_answers_at_once_for_a_closed_port_or_an_unknown_host() -> None:
    base = {"database": "shop", "username": "u", "password": "pw-secret"}
    assert await reason_of({**base, "hosts": [f"127.0.0.1:{free_port()}"]}) == "connection_refused"
    assert await reason_of({**base, "hosts": ["no-such-host.invalid:27017"]}) == "unreachable_host"
    assert await reason_of({**base, "hosts": ["127.0.0.1:notaport"]}) == "invalid_config"
    assert await reason_of({**base, "hosts": []}) == "invalid_config"
    assert await reason_of({"hosts": ["127.0.0.1:27017"]}) == "invalid_config"  # no database


def test_the_spec_is_a_form_with_a_secret_password() -> None:
    spec = MONGO.spec()
    assert spec["properties"]["password"]["secret"] is True
    assert spec["properties"]["auth_source"]["default"] == "admin"
    assert set(spec["required"]) == {"hosts", "database"}


def test_documents_become_flat_typed_records() -> None:
    oid = ObjectId("65a1b2c3d4e5f60718293a4b")
    documents = [
        {
            "_id": oid,
            "n": 3,
            "price": Decimal128("9.99"),
            "at": dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC),
            "tags": ["a", {"b": ObjectId("65a1b2c3d4e5f60718293a4c")}],
            "doc": {"x": 1},
            "raw": Binary(b"\x00\x01"),
        }
    ]
    columns = columns_of(documents)
    assert [(c.name, c.type, c.format) for c in columns] == [
        ("_id", "string", None),
        ("n", "integer", None),
        ("price", "string", None),
        ("at", "string", "date-time"),
        ("tags", "array", None),
        ("doc", "object", None),
        ("raw", "string", None),
    ]
    row = to_batch([record(d) for d in documents], columns, "t").to_pylist()[0]
    assert row["_id"] == "65a1b2c3d4e5f60718293a4b"
    assert row["price"] == "9.99"
    assert row["at"] == "2024-05-01T12:00:00+00:00"
    assert json.loads(row["tags"]) == ["a", {"b": {"$oid": "65a1b2c3d4e5f60718293a4c"}}]
    assert row["raw"] == "AAE="
    assert to_batch([record(d) for d in documents], columns, "t").schema.field("n").type == pa.int64()


def test_the_state_brings_back_exact_bson_values_and_the_ids_read_at_the_last_one() -> None:
    a, b, c = ObjectId(), ObjectId(), ObjectId()
    at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    state = advance(None, "at", [{"_id": a, "at": at - dt.timedelta(days=1)}, {"_id": b, "at": at}])
    state = advance(state, "at", [{"_id": c, "at": at}])
    assert state is not None
    assert state == MongoState(
        cursor_field="at",
        cursor=json_util.dumps(at, json_options=EJSON),
        ids_at_cursor=[json_util.dumps(b, json_options=EJSON), json_util.dumps(c, json_options=EJSON)],
    )
    query = resume_filter(state)
    assert query["at"] == {"$gte": at}
    assert query["$nor"] == [{"at": at, "_id": {"$in": [b, c]}}]
    assert isinstance(query["$nor"][0]["_id"]["$in"][0], ObjectId)

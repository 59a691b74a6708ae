"""The Watcher contract details execution-tracking's internal API keeps: an end strictly after its start,
re-posted addresses updated, storable text only, and refusals in our words (never Postgres' text)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient, RequestFactory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from headwater.common.principal import HEADER, Principal
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.execution_tracking import SCHEMA
from headwater.execution_tracking.bootstrap import Container, bootstrap
from headwater.execution_tracking.entrypoints.http.app import create_app, database_rejected
from headwater.execution_tracking.settings import Settings

pytestmark = pytest.mark.integration

EDITOR = {HEADER: Principal(subject="42", role="editor", via="api_token").header()}
START = "2024-01-01T10:00:00+00:00"


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        c.headers.update(EDITOR)
        yield c


async def started(client: AsyncTestClient[Litestar]) -> int:
    name = f"contract-{uuid.uuid4().hex[:12]}"
    pipeline = await client.post("/pipeline", json={"name": name, "pipeline_type_name": "contract"})
    execution = await client.post(
        "/start_pipeline_execution", json={"pipeline_id": pipeline.json()["id"], "start_date": START}
    )
    assert execution.status_code == 201, execution.text
    return execution.json()["id"]


async def test_an_end_equal_to_its_start_is_refused_like_an_earlier_one(
    client: AsyncTestClient[Litestar],
) -> None:
    execution_id = await started(client)
    for end in (START, "2024-01-01T09:59:59+00:00"):
        r = await client.post(
            "/end_pipeline_execution",
            json={"id": execution_id, "end_date": end, "completed_successfully": True},
        )
        assert r.status_code == 400, r.text
        assert "end_date must be greater than start_date" in r.json()["detail"]
    assert (await client.get(f"/pipeline_execution/{execution_id}")).json()["end_date"] is None
    ok = await client.post(
        "/end_pipeline_execution",
        json={"id": execution_id, "end_date": "2024-01-01T10:00:01+00:00", "completed_successfully": True},
    )
    assert ok.status_code == 204


async def test_reposting_an_address_with_changed_fields_updates_them(
    client: AsyncTestClient[Litestar],
) -> None:
    name = f"warehouse.sales.orders_{uuid.uuid4().hex[:8]}"
    first: dict[str, Any] = {
        "name": name,
        "address_type_name": "postgres",
        "address_type_group_name": "database",
        "primary_key": "id",
    }
    created = await client.post("/address", json=first)
    assert created.status_code == 201
    address_id = created.json()["id"]

    again = await client.post(
        "/address",
        json={
            **first,
            "primary_key": "order_id",
            "table_name": "orders_v2",
            "address_metadata": {"owner": "bi"},
        },
    )
    assert (again.status_code, again.json()) == (200, {"id": address_id})
    got = (await client.get(f"/address/{address_id}")).json()
    assert (got["primary_key"], got["table_name"], got["address_metadata"]) == (
        "order_id",
        "orders_v2",
        {"owner": "bi"},
    )
    assert (got["database_name"], got["schema_name"]) == ("warehouse", "sales")

    moved = {**first, "address_type_name": "snowflake", "primary_key": "order_id", "table_name": "orders_v2"}
    assert (await client.post("/address", json=moved)).status_code == 200
    types = {t["id"]: t["name"] for t in (await client.get("/address_type")).json()}
    assert types[(await client.get(f"/address/{address_id}")).json()["address_type_id"]] == "snowflake"

    before = (await client.get(f"/address/{address_id}")).json()
    assert (await client.post("/address", json=moved)).status_code == 200
    after = (await client.get(f"/address/{address_id}")).json()
    assert after == before  # nothing changed, nothing written; the metadata not sent is left as it is


async def test_unstorable_text_is_refused_in_our_words(client: AsyncTestClient[Litestar]) -> None:
    execution_id = await started(client)
    end = {"id": execution_id, "end_date": "2024-01-01T10:05:00+00:00", "completed_successfully": True}
    r = await client.post("/end_pipeline_execution", json={**end, "execution_metadata": {"note": "a\u0000b"}})
    assert r.status_code == 422, r.text
    assert "execution_metadata.note" in r.text
    assert "cannot be converted" not in r.text  # Postgres' words
    blank = await client.post("/pipeline", json={"name": "  ", "pipeline_type_name": "t"})
    assert blank.status_code == 422
    raw = b'{"id": %d, "end_date": "2024-01-01T10:05:00Z", "completed_successfully": true, ' % execution_id
    not_utf8 = await client.post(
        "/end_pipeline_execution",
        content=raw + b'"execution_metadata": {"a": "\xed\xb2\xbf"}}',
        headers={"content-type": "application/json"},
    )
    assert not_utf8.status_code == 400, not_utf8.text
    assert (await client.get(f"/pipeline_execution/{execution_id}")).json()["end_date"] is None


@pytest.mark.parametrize(
    ("statement", "value", "said"),
    [
        ("select cast(:v as text)", "a\x00b", "a text value holds a NUL character or invalid Unicode"),
        ("select cast(cast(:v as text) as smallint)", "99999", "a number is out of range"),
        ("select cast(:v as jsonb)", "{", "a value is not in a form its field accepts"),
    ],
)
async def test_a_value_postgres_refuses_is_a_422_without_postgres_text(
    container: Container, statement: str, value: str, said: str
) -> None:
    async with container.engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            await conn.execute(text(statement), {"v": value})
    answer = database_rejected(RequestFactory().post("/pipeline"), caught.value)
    assert answer.status_code == 422
    detail = answer.content["detail"]
    assert detail == f"value rejected: {said}"
    assert str(caught.value.orig) not in detail

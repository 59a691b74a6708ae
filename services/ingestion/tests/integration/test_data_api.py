"""Qluster's data over the internal API on real Postgres: a dataset's rows and bad rows loaded by the engine
into its destination, read a page at a time; line signatures ignored now and in later files; bad rows
reprocessed after a rule change; the menu's counts; the outbox read and replayed as queue messages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from headwater.common.principal import HEADER, Principal
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.ingestion import SCHEMA
from headwater.ingestion.adapters.files import open_file
from headwater.ingestion.adapters.warehouse import PostgresWarehouse
from headwater.ingestion.bootstrap import Container, bootstrap
from headwater.ingestion.domain.metadata import Stored
from headwater.ingestion.domain.parsing import ParseSettings
from headwater.ingestion.entrypoints.http.app import create_app
from headwater.ingestion.service_layer.ingest import IngestReport, ingest_file
from headwater.ingestion.service_layer.warehouses import rules_of, table_for
from headwater.ingestion.settings import Settings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]
FIELDS = {
    "id": {"json_schema_field_type": "integer", "is_required": True},
    "name": {"json_schema_field_type": "string"},
    "score": {"json_schema_field_type": "number", "minimum": 0, "maximum": 100},
}


@pytest.fixture
async def api(stack: Stack, warehouse_dsn: str) -> AsyncIterator[Client]:
    """The internal API with the test's warehouse database as the default destination."""
    app = create_app(bootstrap(settings_on(stack, Settings, SCHEMA, warehouse_dsn=warehouse_dsn)))
    async with AsyncTestClient(app) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


def limited(*data_sources: int) -> dict[str, str]:
    principal = Principal(subject="41", username="lim", role="limited_to_source", data_sources=data_sources)
    return {HEADER: principal.header()}


async def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


class World(msgspec.Struct, kw_only=True):
    dataset: dict[str, Any]
    sources: list[int]
    warehouse: PostgresWarehouse
    table: str
    tmp: Path

    async def load(self, stored_item_id: int, source: int, body: str, **kw: Any) -> IngestReport:
        path = self.tmp / f"{stored_item_id}.csv"
        path.write_text("id,name,score\n" + body, encoding="utf-8")
        rules = rules_of(FIELDS)
        return await ingest_file(
            path,
            settings=ParseSettings(),
            rules=rules,
            warehouse=self.warehouse,
            open_file=open_file,
            table=self.table,
            stored_item_id=stored_item_id,
            data_source_id=source,
            **kw,
        )


async def make_world(
    api: Client, tmp_path: Path, warehouse_dsn: str, *, destination: bool
) -> AsyncIterator[World]:
    schema = f"wh_{uuid.uuid4().hex[:8]}"
    dsn = urlsplit(warehouse_dsn)
    fields: dict[str, Any] = {"name": f"people-{schema}", "schema_name": schema, "table_name": "people"}
    fields["database_name"] = dsn.path.lstrip("/")
    if destination:
        login = {"user": dsn.username} | ({"password": dsn.password} if dsn.password else {})
        made = await ok(
            await api.post(
                "/destinations",
                json={
                    "name": f"wh-{schema}",
                    "destination_type": "postgresql",
                    "database_name": "not-this-one",  # the dataset's database_name wins
                    "host": dsn.hostname,
                    "port": str(dsn.port),
                }
                | login,
            )
        )
        fields["destination_id"] = made["id"]
    dataset = await ok(await api.post("/datasets", json=fields))
    for field_name, rules in FIELDS.items():
        await ok(await api.post(f"/datasets/{dataset['id']}/validation_info/{field_name}", json=rules))
    sources = [
        (
            await ok(
                await api.post(
                    "/data-sources", json={"name": f"s{i}-{schema}", "settings_model_id": dataset["id"]}
                )
            )
        )["id"]
        for i in range(2)
    ]
    stored = msgspec.convert(
        {
            **dataset,
            "parent_id": None,
            "body": dataset,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": None,
        },
        Stored,
    )
    warehouse = await PostgresWarehouse.open(warehouse_dsn, schema)
    try:
        yield World(
            dataset=dataset, sources=sources, warehouse=warehouse, table=table_for(stored), tmp=tmp_path
        )
    finally:
        await warehouse.close()


@pytest.fixture
async def world(api: Client, tmp_path: Path, warehouse_dsn: str) -> AsyncIterator[World]:
    async for w in make_world(api, tmp_path, warehouse_dsn, destination=True):
        yield w


async def test_rows_and_bad_rows_are_read_a_page_at_a_time_filtered_and_ordered(
    api: Client, world: World
) -> None:
    a, b = world.sources
    await world.load(1, a, "1,ann,10\n2,bob,20\n3,cy,500\n")
    await world.load(2, b, "4,di,40\nx,ed,5\n")
    url = f"/datasets/{world.dataset['id']}/data"

    page = await ok(await api.get(url, params={"limit": 2}))
    assert (page["total_rows"], page["total_page_count"], page["fields"]) == (3, 2, ["id", "name", "score"])
    assert page["dataset_name"] == world.dataset["name"]
    assert [r["id"] for r in page["results"]] == [4, 2]  # newest first by default (~id)
    assert {"_signature", "_stored_item_id", "_data_source_id", "_line_number"} <= page["results"][0].keys()
    assert page["filters"]["order_by"] == ["~id"]

    by_score = await ok(await api.get(url, params={"order_by": "score", "page": 2, "limit": 2}))
    assert [r["name"] for r in by_score["results"]] == ["di"]
    of_b = await ok(await api.get(url, params={"data_source_model_id": b}))
    assert [r["id"] for r in of_b["results"]] == [4]
    of_file = await ok(await api.get(url, params={"stored_item_id": 1, "order_by": "id"}))
    assert [r["id"] for r in of_file["results"]] == [1, 2]

    bad = await ok(await api.get(url, params={"is_bad_data": "true", "order_by": "_line_number"}))
    assert bad["total_rows"] == 2
    assert [(r["_field_name"], r["_field_value"], r["_alert_type"]) for r in bad["results"]] == [
        ("id", "x", "integer_casting"),
        ("score", "500", "maximum_violation"),
    ]
    assert all(len(r["_signature"]) == 32 and r["_msg"] for r in bad["results"])
    assert bad["results"][1]["_row"] == {"id": "3", "name": "cy", "score": "500"}

    for order_by in ("nope", "name; DROP TABLE people", "~_row"):
        refused = await api.get(url, params={"order_by": order_by})
        assert refused.status_code == 422, refused.text
        assert "cannot order by" in refused.json()["detail"]
    assert (await api.get(url, params={"limit": 0})).status_code == 422
    assert (await api.get(url, params={"data_source_model_id": 999_999_999})).status_code == 422
    assert (await api.get("/datasets/999999999/data")).status_code == 404


async def test_a_limited_user_reads_one_of_its_data_sources_at_a_time(api: Client, world: World) -> None:
    a, b = world.sources
    await world.load(1, a, "1,ann,10\n")
    await world.load(2, b, "2,bob,20\n")
    url = f"/datasets/{world.dataset['id']}/data"
    combined = await api.get(url, headers=limited(a))
    assert combined.status_code == 403
    assert "data_source_model_id" in combined.json()["detail"]
    mine = await ok(await api.get(url, params={"data_source_model_id": a}, headers=limited(a)))
    assert [r["id"] for r in mine["results"]] == [1]
    assert (await api.get(url, params={"data_source_model_id": b}, headers=limited(a))).status_code == 403
    assert (
        await api.get(url, params={"data_source_model_id": 1}, headers=limited(999_999))
    ).status_code == 404


async def test_a_dataset_without_destination_reads_the_default_warehouse_and_nothing_loaded_is_an_empty_page(
    api: Client, tmp_path: Path, warehouse_dsn: str
) -> None:
    async for w in make_world(api, tmp_path, warehouse_dsn, destination=False):
        url = f"/datasets/{w.dataset['id']}/data"
        empty = await ok(await api.get(url))
        assert (empty["total_rows"], empty["results"], empty["fields"]) == (0, [], ["id", "name", "score"])
        await w.load(1, w.sources[0], "1,ann,10\n")
        assert [r["name"] for r in (await ok(await api.get(url)))["results"]] == ["ann"]


async def test_an_ignored_signature_drops_its_bad_rows_now_and_in_later_files(
    api: Client, world: World, container: Container
) -> None:
    a, b = world.sources
    dataset_id = world.dataset["id"]
    await world.load(1, a, "x,ann,10\ny,bob,10\n")
    await world.load(2, b, "x,ann,10\n")  # same line, other data source
    url = f"/datasets/{dataset_id}/data"
    bad = (await ok(await api.get(url, params={"is_bad_data": "true", "order_by": "_line_number"})))[
        "results"
    ]
    signature = next(r["_signature"] for r in bad if r["_data_source_id"] == a and r["_field_value"] == "x")

    ignore = f"/datasets/{dataset_id}/ignore_line_signature"
    done = await ok(await api.post(ignore, json={"data_source_model_to_line_signatures": [[a, signature]]}))
    assert done["result"].startswith("1 line signature(s) added")
    assert "1 bad row(s) dropped" in done["result"]
    again = await ok(await api.post(ignore, json={"data_source_model_to_line_signatures": [[a, signature]]}))
    assert again["result"].startswith("0 line signature(s) added")  # idempotent
    left = (await ok(await api.get(url, params={"is_bad_data": "true"})))["results"]
    assert sorted((r["_data_source_id"], r["_field_value"]) for r in left) == [(a, "y"), (b, "x")]

    async with container.uow_factory() as uow:
        assert await uow.ignored_signatures.signatures_for(dataset_id) == {signature}
        assert await uow.ignored_signatures.signatures_for(dataset_id, b) == set()
        ignored = await uow.ignored_signatures.signatures_for(dataset_id, a)
    later = await world.load(3, a, "x,ann,10\n5,eve,50\n", ignored_signatures=ignored)
    assert (later.rows_loaded, later.rows_quarantined, later.rows_ignored) == (1, 0, 1)

    other = await ok(
        await api.post(
            "/datasets", json={"name": "o", "schema_name": "s", "database_name": "d", "table_name": "o"}
        )
    )
    wrong = await api.post(
        f"/datasets/{other['id']}/ignore_line_signature",
        json={"data_source_model_to_line_signatures": [[a, signature]]},
    )
    assert wrong.status_code == 422
    assert "does not feed" in wrong.json()["detail"]
    not_mine = await api.post(
        ignore, json={"data_source_model_to_line_signatures": [[b, signature]]}, headers=limited(a)
    )
    assert not_mine.status_code == 403
    assert (await api.post(ignore, json={"data_source_model_to_line_signatures": [[a]]})).status_code == 422


async def test_bad_rows_are_reprocessed_against_todays_validation_info(api: Client, world: World) -> None:
    a, b = world.sources
    dataset_id = world.dataset["id"]
    await world.load(1, a, "1,ann,150\n2,bob,250\n")
    await world.load(2, b, "3,cy,180\n")
    url = f"/datasets/{dataset_id}/data"
    reprocess = f"/datasets/{dataset_id}/reprocess-bad-rows"
    nothing = await ok(await api.post(reprocess, json={"ids": []}))
    assert (
        nothing["result"]
        == f"3 bad row(s) of dataset {dataset_id} checked: 0 moved into the table, 3 still bad"
    )

    wider = FIELDS["score"] | {"maximum": 200}
    await ok(await api.post(f"/datasets/{dataset_id}/validation_info/score", json=wider))
    bad = (await ok(await api.get(url, params={"is_bad_data": "true", "order_by": "_id"})))["results"]
    first = bad[0]["_id"]
    one = await ok(await api.post(reprocess, json={"ids": [first]}))
    assert one["result"].endswith("checked: 1 moved into the table, 0 still bad")
    rest = await ok(await api.post(reprocess, json={"ids": []}))
    assert (
        rest["result"] == f"2 bad row(s) of dataset {dataset_id} checked: 1 moved into the table, 1 still bad"
    )
    rows = (await ok(await api.get(url, params={"order_by": "id"})))["results"]
    assert [(r["id"], r["score"], r["_data_source_id"]) for r in rows] == [(1, 150.0, a), (3, 180.0, b)]
    still = (await ok(await api.get(url, params={"is_bad_data": "true"})))["results"]
    assert [(r["_field_value"], r["_alert_type"]) for r in still] == [("250", "maximum_violation")]
    assert "200" in still[0]["_msg"]
    assert (await api.post(reprocess, json={"ids": [0]})).status_code == 422


async def test_the_menu_counts_what_the_caller_may_see(api: Client, world: World) -> None:
    a, _ = world.sources
    mine = await ok(await api.get("/menu-stats", headers=limited(a)))
    assert mine == {
        "datasets_count": 1,
        "data_source_models_count": 1,
        "destinations_count": 1,
    }
    everything = await ok(await api.get("/menu-stats"))
    assert everything["datasets_count"] >= 1
    assert everything["data_source_models_count"] >= 2


async def outbox_rows(container: Container, topic: str, source: int) -> tuple[int, int, int]:
    """An unsent event, a sent one and a quarantined one about `source`, on `topic`."""
    payload = msgspec.json.encode({"type": "file.ingested.v1", "data_source_id": source, "rows": 3})
    insert = (
        "INSERT INTO ingestion.outbox (topic, key, event_type, event_id, payload, sent_at)"
        " VALUES (:topic, :key, 'file.ingested', :event_id, :payload, {sent}) RETURNING id"
    )
    async with container.engine.begin() as conn:
        values = {"topic": topic, "key": str(source), "payload": payload}
        unsent = (
            await conn.execute(text(insert.format(sent="NULL")), values | {"event_id": str(uuid.uuid4())})
        ).scalar_one()
        sent = (
            await conn.execute(text(insert.format(sent="now()")), values | {"event_id": str(uuid.uuid4())})
        ).scalar_one()
        refused = (
            await conn.execute(text(insert.format(sent="NULL")), values | {"event_id": str(uuid.uuid4())})
        ).scalar_one()
        await conn.execute(
            text(
                "WITH moved AS (DELETE FROM ingestion.outbox WHERE id = :id RETURNING *)"
                " INSERT INTO ingestion.outbox_quarantine (id, topic, key, event_type, event_id, payload, headers,"
                " created_at, reason) SELECT id, topic, key, event_type, event_id, payload, headers, created_at,"
                " 'MessageSizeTooLargeError' FROM moved"
            ),
            {"id": refused},
        )
    return unsent, sent, refused


async def test_queue_messages_are_listed_read_and_rescheduled(
    api: Client, world: World, container: Container
) -> None:
    a, b = world.sources
    topic = f"file.ingested.{uuid.uuid4().hex[:6]}"
    unsent, sent, refused = await outbox_rows(container, topic, a)
    other, _, _ = await outbox_rows(container, topic, b)

    page = await ok(await api.get("/queue-msgs", params={"q_name": topic, "data_source_model_id": a}))
    assert [m["id"] for m in page["results"]] == [refused, sent, unsent]
    assert page["title"] == "Queue Messages"
    by_id = {m["id"]: m for m in page["results"]}
    assert (by_id[sent]["acknowledged"], by_id[sent]["dequeued_at"] is not None) == (True, True)
    assert (by_id[refused]["quarantined"], by_id[refused]["reason"]) == (True, "MessageSizeTooLargeError")
    assert by_id[unsent]["data"] == {"type": "file.ingested.v1", "data_source_id": a, "rows": 3}
    assert by_id[unsent]["data_source_model_id"] == a
    assert by_id[unsent]["q_name"] == topic
    waiting = await ok(await api.get("/queue-msgs", params={"q_name": topic, "acknowledged": "false"}))
    assert {m["id"] for m in waiting["results"]} >= {unsent, refused, other}
    assert sent not in {m["id"] for m in waiting["results"]}
    two = await ok(await api.get("/queue-msgs", params={"q_name": topic, "limit": 2, "reverse": "false"}))
    assert two["next"] is not None

    one = await ok(await api.get(f"/queue-msgs/{refused}"))
    assert one["quarantined"]
    assert (await api.get(f"/queue-msgs/{other}", headers=limited(a))).status_code == 404
    mine = await ok(await api.get("/queue-msgs", params={"q_name": topic}, headers=limited(a)))
    assert {m["id"] for m in mine["results"]} == {unsent, sent, refused}

    assert (
        await api.post("/queue-msgs/reschedule", json={"ids": [sent]}, headers=limited(a))
    ).status_code == 403
    missing = await api.post("/queue-msgs/reschedule", json={"ids": [sent, 999_999_999]})
    assert missing.status_code == 404
    assert (await ok(await api.get(f"/queue-msgs/{sent}")))["acknowledged"]  # nothing changed
    done = await ok(await api.post("/queue-msgs/reschedule", json={"ids": [refused, sent, unsent]}))
    assert done["result"].startswith("1 quarantined message(s) put back in the queue")
    assert "1 sent message(s) to be sent again, 1 already waiting" in done["result"]
    assert (await api.get(f"/queue-msgs/{refused}")).status_code == 404  # back in the outbox, under a new id
    after = await ok(await api.get("/queue-msgs", params={"q_name": topic, "data_source_model_id": a}))
    assert [(m["acknowledged"], m["quarantined"]) for m in after["results"]] == [(False, False)] * 3
    assert (await api.post("/queue-msgs/reschedule", json={"ids": []})).status_code == 422

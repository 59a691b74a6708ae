"""Qluster's fatal errors over the internal HTTP API, on the real Postgres: create (a repeat counts), get, list
with cursor pagination and filters, delete (soft), scoping to a `limited_to_source` principal, refusals."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.principal import HEADER, Principal
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.bootstrap import bootstrap
from headwater.quality_alerting.entrypoints.http.app import create_app
from headwater.quality_alerting.settings import Settings

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


def new_id() -> int:
    return random.randint(10**9, 2**60)


def limited(*data_sources: int) -> dict[str, str]:
    principal = Principal(subject="41", username="lim", role="limited_to_source", data_sources=data_sources)
    return {HEADER: principal.header()}


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    app = create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))
    async with AsyncTestClient(app) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


def report(module: str, **fields: Any) -> dict[str, Any]:
    """The example request of spec 003, in a module of the test's own."""
    return {
        "job_name": "sensor-1",
        "module": module,
        "data_source_model_id": 1,
        "job_type": "job",
        "error": "InvalidCron",
        "msg": "Fix it",
        "meta_data": {"foo": "bar"},
    } | fields


async def create(
    client: Client, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    r = await client.post("/errors", json=body, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


async def listed(client: Client, headers: dict[str, str] | None = None, **query: Any) -> list[int]:
    r = await client.get("/errors", params={"limit": 1000} | query, headers=headers or {})
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()["results"]]


async def test_create_answers_every_field_of_spec_003(client: Client) -> None:
    module = f"m{uuid.uuid4().hex[:12]}"
    created = await create(client, report(module, stack_trace="Traceback ...", stored_item_id=5))
    assert created == {
        "job_name": "sensor-1",
        "job_type": "job",
        "error": "InvalidCron",
        "module": module,
        "msg": "Fix it",
        "stack_trace": "Traceback ...",
        "data_source_model_id": 1,
        "settings_model_id": None,
        "alert_item_id": None,
        "stored_item_id": 5,
        "meta_data": {"foo": "bar"},
        "id": created["id"],
        "count": 1,
        "dataset_id": None,
        "created_at": created["created_at"],
        "deleted": False,
    }
    got = await client.get(f"/errors/{created['id']}")
    assert (got.status_code, got.json()) == (200, created)
    minimal = await create(client, {"error": "E", "module": module, "msg": "m"})
    assert (minimal["stack_trace"], minimal["meta_data"], minimal["job_type"]) == ("", {}, None)


async def test_a_repeated_error_counts_on_the_one_not_deleted(client: Client) -> None:
    module = f"m{uuid.uuid4().hex[:12]}"
    first = await create(client, report(module))
    again = await create(client, report(module, msg="Fix it now", meta_data={"n": 2}))
    assert (again["id"], again["count"], again["msg"], again["meta_data"]) == (
        first["id"],
        2,
        "Fix it now",
        {"n": 2},
    )
    other_job = await create(client, report(module, job_name="sensor-2"))
    assert (other_job["id"] != first["id"], other_job["count"]) == (True, 1)

    deleted = await client.request("DELETE", "/errors", json={"id": first["id"]})
    assert (deleted.status_code, deleted.content) == (200, b"null")
    after = await create(client, report(module))
    assert (after["id"] != first["id"], after["count"]) == (True, 1)  # a deleted error is not counted on


async def test_list_pages_like_alerts_and_filters(client: Client) -> None:
    module = f"m{uuid.uuid4().hex[:12]}"
    ids = [(await create(client, report(module, error=f"E{n}")))["id"] for n in range(5)]

    r = await client.get("/errors", params={"module": module, "limit": 2})
    body = r.json()
    assert [e["id"] for e in body["results"]] == [ids[4], ids[3]]  # newest first
    assert (body["previous"], body["next"]) == (None, {"end": ids[3] - 1, "limit": 2, "reverse": True})
    assert (body["filters"], body["title"]) == ({"deleted": False, "module": module}, "Errors")
    following = (await client.get("/errors", params={"module": module, **body["next"]})).json()
    assert [e["id"] for e in following["results"]] == [ids[2], ids[1]]
    assert await listed(client, module=module, start=ids[1], limit=3) == [ids[3], ids[2], ids[1]]
    assert await listed(client, module=module, end=ids[3], limit=3) == [ids[3], ids[2], ids[1]]
    assert await listed(client, module=module, reverse=False, limit=2) == [ids[0], ids[1]]
    assert await listed(client, module=module, job_name="sensor-1") == ids[::-1]
    assert await listed(client, module=module, job_name="nobody") == []

    both = await client.get("/errors", params={"start": 1, "end": 2})
    assert both.status_code == 422


async def test_delete_is_soft_and_matches_every_field_given(client: Client) -> None:
    module = f"m{uuid.uuid4().hex[:12]}"
    a = await create(client, report(module, job_name=f"{module}-a", error="Timeout"))
    b = await create(client, report(module, job_name=f"{module}-a", error="AccessDenied"))
    c = await create(client, report(module, job_name=f"{module}-b", error="Timeout"))

    r = await client.request("DELETE", "/errors", json={"job_name": f"{module}-a", "error": "Timeout"})
    assert (r.status_code, r.json()) == (200, None)
    assert await listed(client, module=module) == [c["id"], b["id"]]
    assert await listed(client, module=module, deleted=True) == [a["id"]]
    gone = (await client.get(f"/errors/{a['id']}")).json()
    assert gone["deleted"] is True  # still readable by id

    nothing = await client.request("DELETE", "/errors", json={"job_name": f"{module}-none"})
    assert (nothing.status_code, nothing.json()) == (200, None)
    again = await client.request("DELETE", "/errors", json={"id": a["id"]})
    assert again.status_code == 200  # deleting it again changes nothing
    await client.request("DELETE", "/errors", json={"job_name": f"{module}-a"})
    assert await listed(client, module=module) == [c["id"]]


async def test_unknown_ids_are_404(client: Client) -> None:
    missing = new_id()
    got = await client.get(f"/errors/{missing}")
    assert (got.status_code, got.json()) == (404, {"detail": f"Fatal error {missing} not found"})
    deleted = await client.request("DELETE", "/errors", json={"id": missing})
    assert (deleted.status_code, deleted.json()) == (404, {"detail": f"Fatal error {missing} not found"})


@pytest.mark.parametrize(
    "body",
    [
        {"module": "m", "msg": "m"},
        {"error": "E", "module": "m", "msg": "m", "job_type": "daemon"},
        {"error": "", "module": "m", "msg": "m"},
        {"error": "E", "module": "m", "msg": "m", "meta_data": {"k": "\u0000"}},
    ],
)
async def test_create_refuses_a_bad_report(client: Client, body: dict[str, Any]) -> None:
    r = await client.post("/errors", json=body)
    assert r.status_code in (400, 422), r.text


async def test_delete_refuses_criteria_that_name_nothing(client: Client) -> None:
    r = await client.request("DELETE", "/errors", json={})
    assert r.status_code in (400, 422), r.text


async def test_a_limited_principal_reaches_only_its_data_sources_errors(client: Client) -> None:
    module = f"m{uuid.uuid4().hex[:12]}"
    source, other = new_id(), new_id()
    mine = await create(client, report(module, data_source_model_id=source), limited(source))
    theirs = await create(client, report(module, data_source_model_id=other))

    assert await listed(client, limited(source), module=module) == [mine["id"]]
    assert await listed(client, module=module) == [theirs["id"], mine["id"]]
    hidden = await client.get(f"/errors/{theirs['id']}", headers=limited(source))
    assert hidden.status_code == 404
    refused = await client.request("DELETE", "/errors", json={"id": theirs["id"]}, headers=limited(source))
    assert refused.status_code == 404
    assert (await client.get(f"/errors/{theirs['id']}")).json()["deleted"] is False
    foreign = await client.post(
        "/errors", json=report(module, data_source_model_id=other), headers=limited(source)
    )
    assert foreign.status_code == 422

"""The Watcher lists answer every row by default (as spec 000's do, up to a generous cap) and take optional
`limit` and `offset`, in id order; a limit outside its bounds is a 422."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.contracts.watcher import MAX_LIST_LIMIT
from headwater.common.principal import HEADER, Principal
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.execution_tracking import SCHEMA
from headwater.execution_tracking.bootstrap import bootstrap
from headwater.execution_tracking.entrypoints.http.app import create_app
from headwater.execution_tracking.settings import Settings

pytestmark = pytest.mark.integration

EDITOR = {HEADER: Principal(subject="42", role="editor").header()}


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/pipeline", {"pipeline_type_name": "paging"}),
        ("/pipeline_type", {}),
        ("/address", {"address_type_name": "paging", "address_type_group_name": "database"}),
        ("/address_type", {"group_name": "database"}),
    ],
)
async def test_lists_are_paged_in_id_order_and_capped(
    client: AsyncTestClient[Litestar], path: str, body: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = []
    for i in range(3):
        created = await client.post(path, json={"name": f"page-{tag}-{i}", **body}, headers=EDITOR)
        ids.append(created.json()["id"])

    everything = await client.get(path, headers=EDITOR)  # no parameters: every row, as the spec's list
    assert everything.status_code == 200
    listed = [row["id"] for row in everything.json()]
    assert listed == sorted(listed)
    assert set(ids) <= set(listed)

    start = listed.index(ids[0])
    page = await client.get(path, params={"limit": 2, "offset": start}, headers=EDITOR)
    assert [row["id"] for row in page.json()] == ids[:2]
    rest = await client.get(path, params={"limit": 2, "offset": start + 2}, headers=EDITOR)
    assert rest.json()[0]["id"] == ids[2]

    for limit in (0, MAX_LIST_LIMIT + 1):
        refused = await client.get(path, params={"limit": limit}, headers=EDITOR)
        assert refused.status_code == 422, refused.text
        assert "limit" in str(refused.json()["detail"])
    assert (await client.get(path, params={"offset": -1}, headers=EDITOR)).status_code == 422

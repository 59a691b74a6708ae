"""The internal HTTP API and the caller's principal: pipelines, executions and lineage belong to no data
source, so a `limited_to_source` principal is refused everywhere; other principals are served."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.http import LIMITED_TO_SOURCE_REFUSED
from headwater.common.principal import HEADER, Principal
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.execution_tracking import SCHEMA
from headwater.execution_tracking.bootstrap import bootstrap
from headwater.execution_tracking.entrypoints.http.app import create_app
from headwater.execution_tracking.settings import Settings

pytestmark = pytest.mark.integration

LIMITED = {HEADER: Principal(subject="41", role="limited_to_source", data_sources=(1,)).header()}
EDITOR = {HEADER: Principal(subject="42", role="editor", via="api_token").header()}


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # The app gets its own container: the test client runs it on its own event loop and closes it at the end.
    async with AsyncTestClient(create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


async def test_a_limited_principal_is_refused_and_an_editor_served(client: AsyncTestClient[Litestar]) -> None:
    name = f"scoping-{uuid.uuid4().hex[:12]}"
    for path in ("/pipeline_type", "/pipeline", "/address"):
        refused = await client.get(path, headers=LIMITED)
        assert (refused.status_code, refused.json()) == (403, {"detail": LIMITED_TO_SOURCE_REFUSED})
    refused = await client.post("/pipeline_type", json={"name": name}, headers=LIMITED)
    assert refused.status_code == 403

    listed = await client.get("/pipeline_type", headers=EDITOR)
    assert listed.status_code == 200
    assert name not in {t["name"] for t in listed.json()}  # the refused request changed nothing
    created = await client.post("/pipeline_type", json={"name": name}, headers=EDITOR)
    assert created.status_code == 201
    got = await client.get(f"/pipeline_type/{created.json()['id']}", headers=EDITOR)
    assert (got.status_code, got.json()["name"]) == (200, name)
    assert (await client.get("/health/live")).status_code == 200

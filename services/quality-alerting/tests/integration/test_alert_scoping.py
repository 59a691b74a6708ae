"""Alerts scoped to the caller's principal over the internal HTTP API, on the real Postgres: a
`limited_to_source` principal reaches only its data sources' alerts; every other route refuses it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.http import LIMITED_TO_SOURCE_REFUSED
from headwater.common.principal import HEADER, Principal
from headwater.devstack.stack import Stack
from headwater.devstack.testing import SignedCalls, settings_on
from headwater.quality_alerting import SCHEMA
from headwater.quality_alerting.bootstrap import Container, bootstrap
from headwater.quality_alerting.entrypoints.http.app import create_app
from headwater.quality_alerting.service_layer import alerts
from headwater.quality_alerting.settings import Settings
from headwater.quality_alerting.testing import alert_draft

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


def new_id() -> int:
    return random.randint(10**9, 2**60)


def as_(principal: Principal) -> dict[str, str]:
    return {HEADER: principal.header()}


def limited(*data_sources: int) -> dict[str, str]:
    return as_(Principal(subject="41", username="lim", role="limited_to_source", data_sources=data_sources))


SUPERUSER = as_(Principal(subject="1", username="admin", role="superuser", via="session"))
EDITOR = as_(Principal(subject="2", username="ed", role="editor", via="api_token"))


@dataclass(frozen=True)
class Raised:
    pipeline: int
    source: int  # the data source granted to the limited principal
    other: int  # a data source it is not granted
    first: int  # alerts of `source`, oldest first
    second: int
    of_other: int
    of_pipeline: int  # a pipeline alert: no data source


async def raise_alerts(container: Container) -> Raised:
    """Two alerts of one data source, one of another and one of no data source, on one pipeline."""
    pipeline, source, other = new_id(), new_id(), new_id()

    async with container.uow_factory() as uow:
        rows = await alerts.raise_alerts(
            uow,
            [
                alert_draft(pipeline, 0, data_source_id=source),
                alert_draft(pipeline, 1, data_source_id=source),
                alert_draft(pipeline, 2, data_source_id=other),
                alert_draft(pipeline, 3),
            ],
        )
        await uow.commit()
    by_msg = {r.msg: r.id for r in rows}
    return Raised(
        pipeline,
        source,
        other,
        by_msg["alert 0"],
        by_msg["alert 1"],
        by_msg["alert 2"],
        by_msg["alert 3"],
    )


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    # The app gets its own container: the test client runs it on its own event loop and closes it at the end.
    app = create_app(bootstrap(settings_on(stack, Settings, SCHEMA)))
    async with AsyncTestClient(app) as c:
        c.auth = SignedCalls(stack.internal_signing_key)
        yield c


async def listed(client: Client, headers: dict[str, str], **query: int | bool) -> list[int]:
    r = await client.get("/alerts", params={**query, "limit": 1000}, headers=headers)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["results"]]


async def test_a_limited_principal_lists_only_its_data_sources_alerts(
    container: Container, client: Client
) -> None:
    a = await raise_alerts(container)
    everything = [a.of_pipeline, a.of_other, a.second, a.first]

    assert await listed(client, limited(a.source)) == [a.second, a.first]
    assert await listed(client, limited(a.source), pipeline_id=a.pipeline) == [a.second, a.first]
    assert await listed(client, limited(a.source, a.other)) == [a.of_other, a.second, a.first]
    assert await listed(client, limited(a.source), data_source_model_id=a.other) == []
    assert await listed(client, limited()) == []  # granted nothing: sees nothing, not everything

    assert await listed(client, SUPERUSER, pipeline_id=a.pipeline) == everything
    assert await listed(client, EDITOR, pipeline_id=a.pipeline) == everything
    assert await listed(client, {}, pipeline_id=a.pipeline) == everything


async def test_a_limited_principal_pages_within_its_data_sources(
    container: Container, client: Client
) -> None:
    a = await raise_alerts(container)
    first = await client.get("/alerts", params={"limit": 1}, headers=limited(a.source))
    assert [r["id"] for r in first.json()["results"]] == [a.second]
    assert (first.json()["previous"], first.json()["next"]) == (
        None,
        {"end": a.second - 1, "limit": 1, "reverse": True},
    )
    following = await client.get("/alerts", params=first.json()["next"], headers=limited(a.source))
    assert [r["id"] for r in following.json()["results"]] == [a.first]
    assert following.json()["next"] is None  # the alerts of other data sources below it do not count


async def test_the_data_source_filter_selects_its_alerts(container: Container, client: Client) -> None:
    a = await raise_alerts(container)
    r = await client.get("/alerts", params={"data_source_model_id": a.source})
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body["results"]] == [a.second, a.first]
    assert {x["data_source_model_id"] for x in body["results"]} == {a.source}
    assert body["filters"] == {"resolved": False, "is_muted": False, "data_source_model_id": a.source}
    assert await listed(client, SUPERUSER, data_source_model_id=a.other) == [a.of_other]
    pipeline_alert = (await client.get(f"/alerts/{a.of_pipeline}")).json()
    assert pipeline_alert["data_source_model_id"] is None


async def test_alerts_out_of_reach_are_404_like_missing_ones(container: Container, client: Client) -> None:
    a = await raise_alerts(container)
    lim = limited(a.source)
    for alert_id in (a.of_other, a.of_pipeline, new_id()):
        got = await client.get(f"/alerts/{alert_id}", headers=lim)
        assert (got.status_code, got.json()) == (404, {"detail": f"Alert {alert_id} not found"})
        resolved = await client.post(f"/alerts/{alert_id}/resolve", json={"action": "hide"}, headers=lim)
        assert (resolved.status_code, resolved.json()) == (404, {"detail": f"Alert {alert_id} not found"})
        muted = await client.post(f"/alerts/{alert_id}/mute", json={"is_muted": True}, headers=lim)
        assert (muted.status_code, muted.json()) == (404, {"detail": f"Alert {alert_id} not found"})
    for alert_id in (a.of_other, a.of_pipeline):  # and they were left as they were
        untouched = (await client.get(f"/alerts/{alert_id}", headers=SUPERUSER)).json()
        assert (untouched["resolved"], untouched["is_muted"]) == (False, False)

    got = await client.get(f"/alerts/{a.first}", headers=lim)
    assert (got.status_code, got.json()["data_source_model_id"]) == (200, a.source)
    resolved = await client.post(f"/alerts/{a.first}/resolve", json={"action": "hide"}, headers=lim)
    assert resolved.status_code == 200
    again = await client.post(f"/alerts/{a.first}/resolve", json={"action": "hide"}, headers=lim)
    assert again.status_code == 200  # resolving a resolved alert changes nothing, and is no 404
    muted = await client.post(f"/alerts/{a.second}/mute", json={"is_muted": True}, headers=lim)
    assert (muted.status_code, muted.json()["is_muted"]) == (200, True)
    assert await listed(client, lim, resolved=True) == [a.first]
    assert await listed(client, lim, is_muted=True) == [a.second]

    muted = await client.post(f"/alerts/{a.of_other}/mute", json={"is_muted": True}, headers=SUPERUSER)
    assert (muted.status_code, muted.json()["is_muted"]) == (200, True)


ROUTES_OF_NO_DATA_SOURCE = [
    ("GET", "/anomaly_detection_rule", None),
    ("POST", "/anomaly_detection_rule", {"pipeline_id": 1, "metric_field": "total_rows"}),
    ("POST", "/unflag_anomaly", {"pipeline_id": 1, "pipeline_execution_id": 1}),
    ("GET", "/api/v1/notification_channels", None),
    ("POST", "/log_cleanup", {"retention_days": 3650}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES_OF_NO_DATA_SOURCE)
async def test_routes_of_no_data_source_refuse_a_limited_principal(
    client: Client, method: str, path: str, body: object
) -> None:
    r = await client.request(method, path, json=body, headers=limited(new_id()))
    assert (r.status_code, r.json()) == (403, {"detail": LIMITED_TO_SOURCE_REFUSED})


async def test_routes_of_no_data_source_serve_everyone_else(client: Client) -> None:
    for headers in (EDITOR, SUPERUSER, {}):
        assert (await client.get("/anomaly_detection_rule", headers=headers)).status_code == 200
        assert (await client.get("/api/v1/notification_channels", headers=headers)).status_code == 200
    assert (await client.get("/health/live")).status_code == 200


async def test_a_garbled_principal_is_400(client: Client) -> None:
    for path in ("/alerts", "/anomaly_detection_rule"):
        r = await client.get(path, headers={HEADER: "{not json"})
        assert r.status_code == 400
        assert r.json()["detail"].startswith(f"invalid {HEADER} header")

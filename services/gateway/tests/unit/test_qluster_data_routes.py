"""The gateway's Qluster data routes (Get Data, ignored line signatures, reprocessed bad rows, queue messages):
validated here, forwarded to ingestion under the same path with the caller's principal; Get Menu Stats adds
quality-alerting's count of unresolved alerts to ingestion's counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from headwater.common.principal import Principal
from headwater.gateway.testing import EDITOR, FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse

COUNTS = {"datasets_count": 2, "data_source_models_count": 3, "destinations_count": 1}


def json_answer(body: Any, status: int = 200) -> UpstreamResponse:
    return UpstreamResponse(status, msgspec.json.encode(body), "application/json")


@dataclass
class AlertPages(FakeUpstream):
    """quality-alerting answering its unresolved alerts (then its fatal errors) a page at a time, walking down by
    `end`."""

    pages: list[dict[str, Any]] = field(default_factory=list)

    async def call(
        self, method: str, path: str, *, body: bytes | None = None, principal: Principal, query: str = ""
    ) -> UpstreamResponse:
        await super().call(method, path, body=body, principal=principal, query=query)
        return json_answer(self.pages[len(self.calls) - 1])


@pytest.fixture
def quality_alerting() -> AlertPages:
    return AlertPages("quality-alerting")


def test_every_data_route_goes_to_ingestion(client: TestClient[Any], ingestion: FakeUpstream) -> None:
    client.get(
        "/datasets/1/data",
        params={
            "page": 2,
            "limit": 5,
            "is_bad_data": "true",
            "order_by": ["~score", "name"],
            "stored_item_id": 9,
        },
    )
    client.post(
        "/datasets/1/ignore_line_signature", json={"data_source_model_to_line_signatures": [[2, "abc"]]}
    )
    client.post("/datasets/1/reprocess-bad-rows", json={"ids": [3, 4]})
    client.get("/queue-msgs", params={"acknowledged": "false", "q_name": "file.stored", "end": 9})
    client.get("/queue-msgs/7")
    client.post("/queue-msgs/reschedule", json={"ids": [7]})
    assert [(c.method, c.path) for c in ingestion.calls] == [
        ("GET", "/datasets/1/data"),
        ("POST", "/datasets/1/ignore_line_signature"),
        ("POST", "/datasets/1/reprocess-bad-rows"),
        ("GET", "/queue-msgs"),
        ("GET", "/queue-msgs/7"),
        ("POST", "/queue-msgs/reschedule"),
    ]
    assert (
        ingestion.calls[0].query
        == "page=2&limit=5&is_bad_data=true&order_by=~score&order_by=name&stored_item_id=9"
    )
    assert msgspec.json.decode(ingestion.calls[1].body or b"") == {
        "data_source_model_to_line_signatures": [[2, "abc"]]
    }
    assert {c.principal for c in ingestion.calls} == {EDITOR}


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        (
            "/datasets/1/ignore_line_signature",
            {"data_source_model_to_line_signatures": []},
            "data_source_model",
        ),
        (
            "/datasets/1/ignore_line_signature",
            {"data_source_model_to_line_signatures": [[2]]},
            "data_source_model",
        ),
        (
            "/datasets/1/ignore_line_signature",
            {"data_source_model_to_line_signatures": [[0, "a"]]},
            "data_source_model",
        ),
        (
            "/datasets/1/ignore_line_signature",
            {"data_source_model_to_line_signatures": [[1, ""]]},
            "data_source_model",
        ),
        ("/datasets/1/reprocess-bad-rows", {}, "ids"),
        ("/datasets/1/reprocess-bad-rows", {"ids": ["x"]}, "ids"),
        ("/queue-msgs/reschedule", {"ids": []}, "ids"),
    ],
)
def test_bodies_spec_003_forbids_are_refused_here(
    client: TestClient[Any], ingestion: FakeUpstream, path: str, body: dict[str, Any], where: str
) -> None:
    assert_refused(client.post(path, json=body), ingestion, where)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/datasets/1/data", {"page": 0}),
        ("/datasets/1/data", {"limit": 1001}),
        ("/datasets/1/data", {"is_bad_data": "maybe"}),
        ("/datasets/1/data", {"data_source_model_id": 0}),
        ("/datasets/1/data", {"order_by": "x" * 65}),
        ("/datasets/99999999999999999999/data", {}),
        ("/queue-msgs", {"start": 1, "end": 2}),
        ("/queue-msgs", {"acknowledged": "perhaps"}),
        ("/queue-msgs", {"limit": 0}),
        ("/queue-msgs/x", {}),
    ],
)
def test_query_and_path_parameters_are_checked(
    client: TestClient[Any], ingestion: FakeUpstream, path: str, params: dict[str, Any]
) -> None:
    response = client.get(path, params=params)
    assert response.status_code in (400, 404, 422), response.text
    assert ingestion.calls == []


def test_menu_stats_add_quality_alertings_unresolved_alerts_and_fatal_errors_of_every_page(
    client: TestClient[Any], ingestion: FakeUpstream, quality_alerting: AlertPages
) -> None:
    ingestion.answer = json_answer(COUNTS)
    quality_alerting.pages = [
        {
            "results": [{"id": i} for i in range(1000, 0, -1)],
            "next": {"end": 0, "limit": 1000, "reverse": True},
        },
        {"results": [{"id": 0}], "next": None},
        {"results": [{"id": 2}, {"id": 1}], "next": None},
    ]
    stats = client.get("/menu-stats")
    assert (stats.status_code, stats.json()) == (
        200,
        COUNTS | {"errors_count": 2, "unresolved_alerts_count": 1001},
    )
    assert [c.path for c in ingestion.calls] == ["/menu-stats"]
    assert [c.query for c in quality_alerting.calls] == [
        "resolved=false&is_muted=false&limit=1000",
        "resolved=false&is_muted=false&limit=1000&end=0",
        "deleted=false&limit=1000",
    ]
    assert [c.path for c in quality_alerting.calls] == ["/alerts", "/alerts", "/errors"]
    assert {c.principal for c in quality_alerting.calls} == {EDITOR}


def test_menu_stats_relay_a_failing_service(
    client: TestClient[Any], ingestion: FakeUpstream, quality_alerting: AlertPages
) -> None:
    ingestion.answer = json_answer({"detail": "nope"}, 403)
    assert client.get("/menu-stats").status_code == 403
    assert quality_alerting.calls == []
    ingestion.answer = json_answer(COUNTS)
    quality_alerting.down = True
    assert client.get("/menu-stats").status_code == 503

"""User data that would make an event too large for Kafka is refused at the API (not accepted, then stuck in the
outbox): a metadata object over 64 KiB of JSON, a lineage declaration of more than 1,000 edges."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from headwater.common.contracts.types import MAX_LINEAGE_EDGES, MAX_METADATA_BYTES
from headwater.gateway.testing import FakeUpstream, assert_refused
from headwater.gateway.upstream import UpstreamResponse

TWO_MB = {"blob": "x" * 2_000_000}
JUST_FITS = {"blob": "x" * (MAX_METADATA_BYTES - len('{"blob":""}'))}


def addresses(prefix: str, n: int) -> list[dict[str, str]]:
    return [
        {"name": f"{prefix}{i}", "address_type_name": "postgres", "address_type_group_name": "database"}
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        (
            "post",
            "/pipeline",
            {"name": "p", "pipeline_type_name": "t", "pipeline_metadata": TWO_MB},
            "pipeline_metadata",
        ),
        ("patch", "/pipeline", {"id": 1, "pipeline_metadata": TWO_MB}, "pipeline_metadata"),
        (
            "post",
            "/end_pipeline_execution",
            {
                "id": 1,
                "end_date": "2024-01-01T00:00:00Z",
                "completed_successfully": True,
                "execution_metadata": TWO_MB,
            },
            "execution_metadata",
        ),
        (
            "post",
            "/address",
            {
                "name": "a",
                "address_type_name": "t",
                "address_type_group_name": "g",
                "address_metadata": TWO_MB,
            },
            "address_metadata",
        ),
        (
            "post",
            "/address_lineage",
            {
                "pipeline_id": 1,
                "source_addresses": addresses("s", 300),
                "target_addresses": addresses("t", 300),
            },
            "edges",
        ),
        (
            "post",
            "/address_lineage",
            {
                "pipeline_id": 1,
                "source_addresses": addresses("s", 501),
                "target_addresses": addresses("t", 1),
            },
            "source_addresses",
        ),
    ],
)
def test_oversized_user_data_gets_422_and_is_not_forwarded(
    client: TestClient[Any], execution_tracking: FakeUpstream, method: str, path: str, body: Any, where: str
) -> None:
    r = client.request(method.upper(), path, json=body)
    assert_refused(r, execution_tracking, where)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/pipeline", {"name": "p", "pipeline_type_name": "t", "pipeline_metadata": JUST_FITS}),
        (
            "/address_lineage",
            {
                "pipeline_id": 1,
                "source_addresses": addresses("s", 500),
                "target_addresses": addresses("t", 2),
            },
        ),
    ],
)
def test_user_data_up_to_the_caps_is_forwarded(
    client: TestClient[Any], execution_tracking: FakeUpstream, path: str, body: Any
) -> None:
    execution_tracking.answer = UpstreamResponse(201, b'{"id": 1}', "application/json")
    assert client.post(path, json=body).status_code == 201
    assert len(execution_tracking.calls) == 1


def test_a_run_event_of_too_many_edges_is_400_and_not_forwarded(
    client: TestClient[Any], execution_tracking: FakeUpstream
) -> None:
    def datasets(prefix: str, n: int) -> list[dict[str, str]]:
        return [{"namespace": "postgres://db", "name": f"{prefix}{i}"} for i in range(n)]

    event = {
        "eventType": "COMPLETE",
        "eventTime": "2024-01-01T10:05:00Z",
        "run": {"runId": "0192f4a8-7c00-7000-8000-000000000002"},
        "job": {"namespace": "airflow", "name": "wide"},
        "inputs": datasets("in", 300),
        "outputs": datasets("out", 300),
    }
    r = client.post(
        "/api/v1/lineage", content=msgspec.json.encode(event), headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert f"at most {MAX_LINEAGE_EDGES}" in r.json()["detail"]
    assert execution_tracking.calls == []

"""The gateway's Qluster file routes: stored items and ingestion jobs forwarded to ingestion with the caller's
principal; the multipart upload parsed as it streams (the file part's bytes forwarded, the form's fields read),
the signed URL's PUT forwarded without a login; empty files, bodies that are not multipart and uploads over the
gateway's limit refused before ingestion keeps anything."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from headwater.gateway.app import create_app
from headwater.gateway.dialects.qluster.file_routes import SIGNED_URL_CALLER
from headwater.gateway.settings import Settings
from headwater.gateway.testing import EDITOR, FakeIdentity, FakeUpstream, fake_container
from headwater.gateway.upstream import UpstreamResponse

CSV = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(20_000))


def test_every_stored_item_and_job_route_goes_to_ingestion(
    client: TestClient[Any], ingestion: FakeUpstream
) -> None:
    client.get("/stored-items", params={"data_source_model_id": 3, "is_uploaded_via_signed_url": "true"})
    client.post("/stored-items", json={"data_source_model_id": 3, "key": "in/orders.csv"})
    client.patch("/stored-items", json={"id": 5, "ignore_file": True})
    client.get("/stored-items/5")
    client.delete("/stored-items/5")
    client.post("/stored-items/5/publish")
    client.get("/ingestion-jobs", params={"state": "finished", "dataset_id": 2})
    client.get("/ingestion-jobs/8")
    client.post("/ingestion-jobs/8/run")
    client.post("/ingestion-jobs/8/kill")
    assert [(c.method, c.path) for c in ingestion.calls] == [
        ("GET", "/stored-items"),
        ("POST", "/stored-items"),
        ("PATCH", "/stored-items"),
        ("GET", "/stored-items/5"),
        ("DELETE", "/stored-items/5"),
        ("POST", "/stored-items/5/publish"),
        ("GET", "/ingestion-jobs"),
        ("GET", "/ingestion-jobs/8"),
        ("POST", "/ingestion-jobs/8/run"),
        ("POST", "/ingestion-jobs/8/kill"),
    ]
    assert ingestion.calls[6].query == "state=finished&dataset_id=2"
    assert {c.principal for c in ingestion.calls} == {EDITOR}


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("POST", "/stored-items", {"data_source_model_id": 0, "key": "a.csv"}, "data_source_model_id"),
        ("POST", "/stored-items", {"data_source_model_id": 1, "key": ""}, "key"),
        ("POST", "/stored-items", {"data_source_model_id": 1, "key": "a", "x": 1}, "x"),
        ("PATCH", "/stored-items", {"id": 1}, "ignore_file"),
        ("GET", "/ingestion-jobs?state=sleeping", None, "state"),
        ("GET", "/ingestion-jobs?start=1&end=2", None, "start"),
    ],
)
def test_invalid_requests_are_refused_before_ingestion(
    client: TestClient[Any], ingestion: FakeUpstream, method: str, path: str, body: Any, where: str
) -> None:
    answer = client.request(method, path, json=body)
    assert answer.status_code in (400, 422), answer.text
    assert where in answer.text
    assert ingestion.calls == []


def test_a_multipart_upload_streams_its_file_part_to_ingestion(
    client: TestClient[Any], ingestion: FakeUpstream
) -> None:
    ingestion.answer = UpstreamResponse(
        200, msgspec.json.encode({"id": 4, "state": "stored"}), "application/json"
    )
    answer = client.post(
        "/stored-items/upload",
        data={"data_source_model_id": "7", "note": "ignored"},
        files={"file": ("orders.csv", CSV, "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": 4, "state": "stored"}
    (call,) = ingestion.calls
    assert (call.method, call.path, call.principal) == ("POST", "/stored-items/upload", EDITOR)
    assert call.query == "data_source_model_id=7&file_name=orders.csv&content_type=text%2Fcsv"
    assert call.body == CSV


def test_the_data_source_may_be_a_query_parameter(client: TestClient[Any], ingestion: FakeUpstream) -> None:
    answer = client.post(
        "/stored-items/upload", params={"data_source_model_id": 9}, files={"file": ("a.csv", b"id\n1\n")}
    )
    assert answer.status_code == 200, answer.text
    assert ingestion.calls[0].query.startswith("data_source_model_id=9&file_name=a.csv")


@pytest.mark.parametrize(
    ("kwargs", "status", "said"),
    [
        ({"files": {"file": ("empty.csv", b"")}, "params": {"data_source_model_id": 1}}, 422, "empty"),
        ({"files": {"file": ("a.csv", b"id\n")}}, 422, "data_source_model_id"),
        ({"files": {"data_source_model_id": (None, "1")}}, 422, "no file part"),
        ({"content": b"id\n1\n", "params": {"data_source_model_id": 1}}, 422, "multipart/form-data"),
        (
            {
                "content": b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nid\n1',
                "headers": {"content-type": "multipart/form-data; boundary=b"},
                "params": {"data_source_model_id": 1},
            },
            422,
            "malformed",
        ),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_kept(
    client: TestClient[Any], ingestion: FakeUpstream, kwargs: dict[str, Any], status: int, said: str
) -> None:
    answer = client.post("/stored-items/upload", **kwargs)
    assert answer.status_code == status, answer.text
    assert said in answer.text
    # Refused before ingestion was called, or (a body that broke off) while its body streamed: ingestion then
    # sees a broken body and keeps nothing; the fake records the call only once it read the body through.
    assert ingestion.calls == []


def test_the_signed_url_put_needs_no_login_and_forwards_the_token(ingestion: FakeUpstream) -> None:
    container = fake_container(ingestion=ingestion, identity=FakeIdentity(principal=None))
    with TestClient(create_app(container)) as anonymous:
        put = anonymous.put("/stored-items/5/upload", params={"token": "t.o.k"}, content=CSV)
        assert put.status_code == 200, put.text
        assert anonymous.get("/stored-items/5").status_code == 401
        empty = anonymous.put("/stored-items/5/upload", params={"token": "t.o.k"}, content=b"")
        assert empty.status_code == 422
        assert anonymous.put("/stored-items/5/upload", content=b"x").status_code == 422  # no token
    (call,) = ingestion.calls
    assert (call.method, call.path, call.query, call.body) == (
        "PUT",
        "/stored-items/5/upload",
        "token=t.o.k",
        CSV,
    )
    assert call.principal == SIGNED_URL_CALLER


@pytest.fixture
def small_uploads(ingestion: FakeUpstream) -> Iterator[TestClient[Any]]:
    container = fake_container(ingestion=ingestion)
    container.settings = Settings(log_json=False, upload_max_bytes=1000)
    with TestClient(create_app(container)) as c:
        yield c


def test_uploads_over_the_gateways_limit_are_refused(
    small_uploads: TestClient[Any], ingestion: FakeUpstream
) -> None:
    over = small_uploads.put("/stored-items/5/upload", params={"token": "t"}, content=b"x" * 1001)
    assert over.status_code == 413, over.text
    multipart = small_uploads.post(
        "/stored-items/upload", params={"data_source_model_id": 1}, files={"file": ("a.csv", b"x" * 2000)}
    )
    assert multipart.status_code == 413, multipart.text
    assert ingestion.calls == []


def test_uploads_are_not_held_to_litestars_body_cap(client: TestClient[Any], ingestion: FakeUpstream) -> None:
    big = b"y" * (11 * 1024 * 1024)  # over Litestar's 10 MB default
    answer = client.put("/stored-items/5/upload", params={"token": "t"}, content=big)
    assert answer.status_code == 200, answer.text
    assert len(ingestion.calls[0].body or b"") == len(big)
    assert (
        client.post("/datasets", content=big, headers={"content-type": "application/json"}).status_code == 413
    )

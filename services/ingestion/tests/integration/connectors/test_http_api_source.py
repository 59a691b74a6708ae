"""The HTTP JSON API source against a real HTTP server (a thread of this test): page, cursor and next-URL
pagination, typed columns, incremental reads with ties at the cursor, and check's answers (401, 403, 404,
a closed port, a private address refused)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from headwater.ingestion.adapters.connectors.http_api import HttpApiSource
from headwater.ingestion.adapters.connectors.registry import source
from headwater.ingestion.arrow import pa
from headwater.ingestion.domain.connectors import CheckFailed, ReadBatch, ReadRequest, SyncMode
from headwater.ingestion.testing import free_port

pytestmark = pytest.mark.integration

TOKEN = "api-token-of-the-tests"
ITEMS: list[dict[str, Any]] = [
    {
        "id": i,
        "name": f"item {i}",
        "price": i / 4,
        "active": i % 2 == 0,
        "tags": ["a", str(i)],
        "meta": {"i": i},
        "updated": i // 10,
    }
    for i in range(250)
]
EVENTS = [{"seq": i, "kind": "click"} for i in range(7)]


class Api(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def answer(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer(401, {"error": "who are you"})
        match parts.path:
            case "/api/items":
                page, size = int(q["page"]), int(q["per_page"])
                since = int(q.get("since", "-1"))
                rows = [r for r in ITEMS if r["updated"] >= since]
                return self.answer(200, {"data": {"items": rows[(page - 1) * size : page * size]}})
            case "/api/events":
                start = int(q.get("cursor", "0"))
                chunk = EVENTS[start : start + 3]
                following = start + 3 if start + 3 < len(EVENTS) else None
                return self.answer(200, {"events": chunk, "meta": {"next": following}})
            case "/api/links":
                n = int(q.get("n", "0"))
                headers = {"Link": f'</api/links?n={n + 1}>; rel="next"'} if n < 2 else {}
                return self.answer(200, [{"n": n}], headers)
            case "/api/forbidden":
                return self.answer(403, {"error": "no"})
            case "/api/notjson":
                return self.answer(200, b"<html>hello</html>")
            case _:
                return self.answer(404, {"error": "no such path"})


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


ENDPOINTS = [
    {
        "name": "items",
        "path": "/api/items",
        "records_path": "data.items",
        "pagination": "page",
        "page_size": 100,
        "primary_key": ["id"],
        "cursor_field": "updated",
        "incremental_param": "since",
    },
    {
        "name": "events",
        "path": "/api/events",
        "records_path": "events",
        "pagination": "cursor",
        "next_cursor_path": "meta.next",
    },
    {"name": "links", "path": "/api/links", "pagination": "next_url"},
]

API = HttpApiSource(allow_hosts=["127.0.0.1"])


def config(api_url: str, **changes: Any) -> dict[str, Any]:
    return {"base_url": api_url, "bearer_token": TOKEN, "endpoints": ENDPOINTS, **changes}


async def read_all(cfg: dict[str, Any], request: ReadRequest) -> list[ReadBatch]:
    return [b async for b in API.read(cfg, request)]


async def reason_of(src: HttpApiSource, cfg: dict[str, Any]) -> str:
    with pytest.raises(CheckFailed) as failed:
        await src.check(cfg)
    assert TOKEN not in failed.value.message
    return failed.value.reason


async def test_check_answers(api_url: str) -> None:
    await API.check(config(api_url))
    assert await reason_of(API, config(api_url, bearer_token="wrong")) == "bad_credentials"
    forbidden = [{"name": "f", "path": "/api/forbidden"}]
    assert await reason_of(API, config(api_url, endpoints=forbidden)) == "permission_denied"
    assert await reason_of(API, config(api_url, endpoints=[{"name": "x", "path": "/api/x"}])) == "not_found"
    assert (
        await reason_of(API, config(api_url, endpoints=[{"name": "h", "path": "/api/notjson"}]))
        == "read_failed"
    )
    assert await reason_of(API, config(f"http://127.0.0.1:{free_port()}")) == "connection_refused"
    assert await reason_of(HttpApiSource(), config(api_url)) == "permission_denied"  # loopback not allowed
    assert await reason_of(API, config("ftp://example.com")) == "invalid_config"
    assert source("http_api").spec()["properties"]["bearer_token"]["secret"] is True


async def test_discover_types_the_fields_of_the_first_page(api_url: str) -> None:
    streams = {s.name: s for s in await API.discover(config(api_url))}
    items = streams["items"]
    assert [(c.name, c.type) for c in items.columns] == [
        ("id", "integer"),
        ("name", "string"),
        ("price", "number"),
        ("active", "boolean"),
        ("tags", "array"),
        ("meta", "object"),
        ("updated", "integer"),
    ]
    assert items.primary_key == ("id",)
    assert items.sync_modes == (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL)
    assert streams["events"].sync_modes == (SyncMode.FULL_REFRESH,)


async def test_every_kind_of_pagination_reads_every_record(api_url: str) -> None:
    cfg = config(api_url)
    streams = {s.name: s for s in await API.discover(cfg)}
    items = await read_all(cfg, ReadRequest(stream=streams["items"]))
    assert [b.records.num_rows for b in items] == [100, 100, 50]
    batch = items[0].records
    assert batch.schema.field("price").type == pa.float64()
    first = batch.to_pylist()[3]
    assert first["price"] == 0.75
    assert json.loads(first["tags"]) == ["a", "3"]
    assert json.loads(first["meta"]) == {"i": 3}
    events = [
        r["seq"]
        for b in await read_all(cfg, ReadRequest(stream=streams["events"]))
        for r in b.records.to_pylist()
    ]
    assert events == list(range(7))
    links = [
        r["n"]
        for b in await read_all(cfg, ReadRequest(stream=streams["links"]))
        for r in b.records.to_pylist()
    ]
    assert links == [0, 1, 2]


async def test_incremental_reads_skip_what_was_read_and_keep_late_ties(api_url: str) -> None:
    cfg = config(api_url)
    stream = next(s for s in await API.discover(cfg) if s.name == "items")
    request = ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL)
    first = await read_all(cfg, request)
    assert sum(b.records.num_rows for b in first) == 250
    state = first[-1].state
    assert state is not None
    assert state["cursor"] == 24
    assert state["keys_at_cursor"] == [[i] for i in range(240, 250)]
    assert await read_all(cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, state=state)) == []

    ITEMS.append({**ITEMS[0], "id": 250, "updated": 24})  # a late tie
    ITEMS.append({**ITEMS[0], "id": 251, "updated": 30})
    try:
        again = await read_all(cfg, ReadRequest(stream=stream, sync_mode=SyncMode.INCREMENTAL, state=state))
    finally:
        del ITEMS[250:]
    assert [r["id"] for b in again for r in b.records.to_pylist()] == [250, 251]
    assert again[-1].state == {"cursor_field": "updated", "cursor": 30, "keys_at_cursor": [[251]]}

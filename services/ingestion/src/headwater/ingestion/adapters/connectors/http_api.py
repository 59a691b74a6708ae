"""An HTTP JSON API as a source: each configured endpoint is a stream, its records read page by page.

An endpoint names its path, where the records sit in an answer (`records_path`, dotted: `data.items`; empty when
the answer is the list itself) and how pages follow one another: `none`, `page` (a page number), `offset`,
`cursor` (a token from the answer, at `next_cursor_path`) or `next_url` (a URL from the answer at `next_url_path`,
or else the `Link: <...>; rel="next"` header). Records are JSON objects; their top-level fields are the columns
(objects and arrays as JSON text), typed from the first page at discovery, or by the stream's columns at read.

Incremental reads keep the largest value of the cursor field and the keys of the records holding it; the next
read skips records below it and those keys (records sharing the last value that arrive later are still read). When
the endpoint has an `incremental_param`, the saved value is also sent in it, so the API can filter too.

Hosts on loopback, private, link-local or reserved addresses are refused unless the service allows them (a
configuration must not reach the service's own network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Annotated, Any, Literal, cast
from urllib.parse import urljoin, urlsplit

import httpx
import msgspec
from msgspec import Meta

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.common import (
    CHECK_TIMEOUT_SECONDS,
    SOURCE_READ_FAILURES,
    SOURCE_ROWS,
    JsonValue,
    checking,
    config_spec,
    json_value,
    masked_repr,
    parse_config,
)
from headwater.ingestion.adapters.connectors.json_records import infer_columns, to_batch
from headwater.ingestion.domain.connectors import (
    CheckFailed,
    ReadBatch,
    ReadRequest,
    Stream,
    SyncMode,
)

log = get_logger(__name__)

KIND = "http_api"
MAX_PAGES = 100_000
READ_TIMEOUT_SECONDS = 60.0
_SECRET = {"format": "password", "secret": True}


class Endpoint(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[
        str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$", title="Stream name")
    ]
    path: Annotated[
        str, Meta(min_length=1, max_length=2048, title="Path", description="Relative to the base URL")
    ]
    params: Annotated[dict[str, str], Meta(title="Query parameters")] = {}
    records_path: Annotated[
        str, Meta(max_length=256, title="Records path", description="e.g. data.items")
    ] = ""
    primary_key: Annotated[tuple[str, ...], Meta(title="Primary key fields")] = ()
    cursor_field: Annotated[str, Meta(max_length=256, title="Cursor field (incremental reads)")] = ""
    incremental_param: Annotated[
        str, Meta(max_length=256, title="Query parameter that receives the saved cursor value")
    ] = ""
    pagination: Literal["none", "page", "offset", "cursor", "next_url"] = "none"
    page_size: Annotated[int, Meta(ge=1, le=100_000, title="Page size")] = 100
    size_param: Annotated[str, Meta(max_length=64, title="Page size parameter")] = "per_page"
    page_param: Annotated[str, Meta(max_length=64, title="Page number parameter")] = "page"
    first_page: Annotated[int, Meta(ge=0, title="First page number")] = 1
    offset_param: Annotated[str, Meta(max_length=64, title="Offset parameter")] = "offset"
    cursor_param: Annotated[str, Meta(max_length=64, title="Cursor parameter")] = "cursor"
    next_cursor_path: Annotated[
        str, Meta(max_length=256, title="Next cursor path", description="e.g. meta.next")
    ] = ""
    next_url_path: Annotated[
        str, Meta(max_length=256, title="Next URL path", description="e.g. links.next")
    ] = ""


class HttpApiConfig(msgspec.Struct, frozen=True, kw_only=True):
    base_url: Annotated[str, Meta(min_length=1, max_length=2048, title="Base URL", pattern=r"^https?://")]
    endpoints: Annotated[tuple[Endpoint, ...], Meta(min_length=1, max_length=200, title="Endpoints")]
    bearer_token: Annotated[str, Meta(max_length=8192, title="Bearer token", extra_json_schema=_SECRET)] = ""
    api_key_header: Annotated[
        str, Meta(max_length=128, title="API key header", description="e.g. X-API-Key")
    ] = ""
    api_key: Annotated[str, Meta(max_length=8192, title="API key", extra_json_schema=_SECRET)] = ""

    def __repr__(self) -> str:
        return masked_repr(self)

    def endpoint(self, name: str) -> Endpoint:
        for e in self.endpoints:
            if e.name == name:
                return e
        raise CheckFailed("not_found", f"no endpoint named {name!r} in this source")


class Page(msgspec.Struct, frozen=True, kw_only=True):
    records: list[dict[str, Any]]
    next: dict[str, str] | str | None  # the next page's parameters, its URL, or None at the end


def _path(body: Any, dotted: str) -> Any:
    for part in [p for p in dotted.split(".") if p]:
        if not isinstance(body, dict):
            return None
        body = cast("dict[str, Any]", body).get(part)
    return body


# --- the guard against reaching the service's own network -------------------------------------------------------


async def _guard(url: str, allowed: frozenset[str]) -> None:
    host = urlsplit(url).hostname
    if not host:
        raise CheckFailed("invalid_config", f"{url!r} has no host")
    if host in allowed:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise CheckFailed("unreachable_host", f"the host name {host!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if str(address) in allowed:
            continue
        if not address.is_global or address.is_multicast:
            raise CheckFailed(
                "permission_denied",
                f"{host} is on a private, loopback or reserved address: not a source here",
            )


# --- pages -------------------------------------------------------------------------------------------------------


class _Api:
    def __init__(self, cfg: HttpApiConfig, allowed: frozenset[str], timeout: float) -> None:
        self._cfg = cfg
        self._allowed = allowed
        headers = {"Accept": "application/json", "User-Agent": "headwater-ingestion"}
        if cfg.bearer_token:
            headers["Authorization"] = f"Bearer {cfg.bearer_token}"
        if cfg.api_key_header and cfg.api_key:
            headers[cfg.api_key_header] = cfg.api_key
        self.client = httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=False)

    async def pages(self, endpoint: Endpoint, extra: Mapping[str, str] | None = None) -> AsyncIterator[Page]:
        url = urljoin(self._cfg.base_url.rstrip("/") + "/", endpoint.path.lstrip("/"))
        params: dict[str, str] = {**endpoint.params, **(extra or {})}
        match endpoint.pagination:
            case "page":
                params |= {
                    endpoint.page_param: str(endpoint.first_page),
                    endpoint.size_param: str(endpoint.page_size),
                }
            case "offset":
                params |= {endpoint.offset_param: "0", endpoint.size_param: str(endpoint.page_size)}
            case _:
                pass
        for _ in range(MAX_PAGES):
            page = await self._page(endpoint, url, params)
            yield page
            if page.next is None:
                return
            if isinstance(page.next, str):
                url, params = page.next, {}
            else:
                params |= page.next
        raise CheckFailed("read_failed", f"{endpoint.name}: more than {MAX_PAGES} pages; narrow the endpoint")

    async def _page(self, endpoint: Endpoint, url: str, params: dict[str, str]) -> Page:
        await _guard(url, self._allowed)
        try:
            response = await self.client.get(url, params=params or None)
        except httpx.ConnectError as e:
            causes = _causes(e)
            if any(isinstance(c, ConnectionRefusedError) for c in causes):
                raise CheckFailed("connection_refused", f"{_origin(url)} refused the connection") from None
            if any(isinstance(c, socket.gaierror) for c in causes):
                raise CheckFailed(
                    "unreachable_host", f"the host of {_origin(url)} does not resolve"
                ) from None
            raise CheckFailed("unreachable_host", f"{_origin(url)} cannot be reached: {e}") from None
        except httpx.TimeoutException:
            raise CheckFailed("timeout", f"{_origin(url)} did not answer in time") from None
        except httpx.HTTPError as e:
            raise CheckFailed("connection_failed", f"the request to {_origin(url)} failed: {e}") from None
        _raise_for_status(response, endpoint)
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CheckFailed("read_failed", f"{endpoint.name}: the answer is not JSON") from None
        found = _path(body, endpoint.records_path)
        if not isinstance(found, list):
            raise CheckFailed(
                "read_failed",
                f"{endpoint.name}: no list of records at {endpoint.records_path or 'the top'} of the answer",
            )
        records: list[dict[str, Any]] = [r for r in found if isinstance(r, dict)]  # pyright: ignore[reportUnknownVariableType]
        return Page(records=records, next=_next(endpoint, body, response, params, len(records)))

    async def close(self) -> None:
        await self.client.aclose()


def _causes(e: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = e
    while current is not None and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _raise_for_status(response: httpx.Response, endpoint: Endpoint) -> None:
    code = response.status_code
    if code < 400:
        if code >= 300:
            raise CheckFailed(
                "invalid_config", f"{endpoint.name}: the API redirects ({code}); give the final URL"
            )
        return
    reasons = {401: "bad_credentials", 403: "permission_denied", 404: "not_found", 429: "rate_limited"}
    reason = reasons.get(code, "connection_failed" if code >= 500 else "invalid_config")
    raise CheckFailed(reason, f"{endpoint.name}: the API answered {code} {response.reason_phrase}")


def _next(
    endpoint: Endpoint, body: Any, response: httpx.Response, params: Mapping[str, str], count: int
) -> dict[str, str] | str | None:
    match endpoint.pagination:
        case "none":
            return None
        case "page":
            if count < endpoint.page_size:
                return None
            return {endpoint.page_param: str(int(params[endpoint.page_param]) + 1)}
        case "offset":
            if count < endpoint.page_size:
                return None
            return {endpoint.offset_param: str(int(params[endpoint.offset_param]) + count)}
        case "cursor":
            token = _path(body, endpoint.next_cursor_path)
            return {endpoint.cursor_param: str(token)} if token not in (None, "") and count else None
        case "next_url":
            link = _path(body, endpoint.next_url_path) if endpoint.next_url_path else None
            if not link:
                link = response.links.get("next", {}).get("url")
            return urljoin(str(response.url), str(link)) if link and count else None


# --- records as Arrow ---------------------------------------------------------------------------------------------


class ApiCursor(msgspec.Struct, frozen=True, kw_only=True):
    cursor_field: str
    cursor: JsonValue
    keys_at_cursor: list[list[JsonValue]] = []


def _comparable(a: Any, b: Any) -> bool:
    return (isinstance(a, int | float) and isinstance(b, int | float)) or type(a) is type(b)


# --- the connector ----------------------------------------------------------------------------------------------


class HttpApiSource:
    kind = KIND

    def __init__(self, allow_hosts: Sequence[str] = ()) -> None:
        self._allowed = frozenset(allow_hosts)

    def spec(self) -> dict[str, Any]:
        return config_spec(
            HttpApiConfig, title="HTTP JSON API", description="Records of JSON endpoints, page after page"
        )

    async def check(self, config: Mapping[str, Any]) -> None:
        cfg = parse_config(config, HttpApiConfig)
        api = _Api(cfg, self._allowed, CHECK_TIMEOUT_SECONDS)
        try:
            async with checking(KIND, "the API"):
                for endpoint in cfg.endpoints:
                    async for _ in api.pages(endpoint):
                        break
        finally:
            await api.close()

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = parse_config(config, HttpApiConfig)
        api = _Api(cfg, self._allowed, READ_TIMEOUT_SECONDS)
        streams: list[Stream] = []
        try:
            for endpoint in cfg.endpoints:
                records: list[dict[str, Any]] = []
                async for page in api.pages(endpoint):
                    records = page.records
                    break
                columns = infer_columns(records)
                modes = (
                    (SyncMode.FULL_REFRESH, SyncMode.INCREMENTAL)
                    if endpoint.cursor_field
                    else (SyncMode.FULL_REFRESH,)
                )
                streams.append(
                    Stream(
                        namespace=None,
                        name=endpoint.name,
                        columns=columns,
                        primary_key=endpoint.primary_key,
                        cursor_candidates=(endpoint.cursor_field,) if endpoint.cursor_field else (),
                        sync_modes=modes,
                    )
                )
        finally:
            await api.close()
        return streams

    async def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]:
        cfg = parse_config(config, HttpApiConfig)
        endpoint = cfg.endpoint(request.stream.name)
        incremental = request.sync_mode == SyncMode.INCREMENTAL
        if request.sync_mode == SyncMode.CDC:
            raise CheckFailed("invalid_config", "an HTTP API is read in full or incrementally, not by CDC")
        cursor_field = request.cursor_field or endpoint.cursor_field
        if incremental and not cursor_field:
            raise CheckFailed("invalid_config", f"{endpoint.name}: an incremental read needs a cursor field")
        saved = _saved(request.state, cursor_field) if incremental else None
        extra = (
            {endpoint.incremental_param: str(saved.cursor)} if saved and endpoint.incremental_param else None
        )
        columns = tuple(request.stream.columns)
        best: Any = saved.cursor if saved else None
        best_keys: list[list[JsonValue]] = list(saved.keys_at_cursor) if saved else []
        skip = {tuple(k) for k in best_keys}
        pending: Any = None
        api = _Api(cfg, self._allowed, READ_TIMEOUT_SECONDS)
        try:
            async for page in api.pages(endpoint, extra):
                records = page.records
                if incremental:
                    records = [
                        r for r in records if _is_new(r, cursor_field, endpoint.primary_key, saved, skip)
                    ]
                    for r in records:
                        value = r.get(cursor_field)
                        if value is None:
                            continue
                        key = [json_value(r.get(k)) for k in endpoint.primary_key]
                        if best is None or (_comparable(value, best) and value > best):
                            best, best_keys = value, [key]
                        elif value == best:
                            best_keys.append(key)
                if not records:
                    continue
                if not columns:
                    columns = infer_columns(records)
                batch = to_batch(records, columns, endpoint.name)
                SOURCE_ROWS.labels(KIND).inc(batch.num_rows)
                if pending is not None:
                    yield ReadBatch(records=pending, state=None)
                pending = batch
        except CheckFailed:
            SOURCE_READ_FAILURES.labels(KIND).inc()
            raise
        finally:
            await api.close()
        if pending is not None:
            # The largest cursor value is known only once every page is read: it rides on the last batch.
            state = None
            if incremental and best is not None:
                state = msgspec.to_builtins(
                    ApiCursor(cursor_field=cursor_field, cursor=json_value(best), keys_at_cursor=best_keys)
                )
            yield ReadBatch(records=pending, state=state)


def _saved(state: Mapping[str, Any] | None, cursor_field: str) -> ApiCursor | None:
    if not state:
        return None
    try:
        saved = msgspec.convert(dict(state), ApiCursor)
    except msgspec.ValidationError:
        raise CheckFailed(
            "invalid_config", "the saved state of this stream is not one this connector wrote"
        ) from None
    return saved if saved.cursor_field == cursor_field else None


def _is_new(
    record: Mapping[str, Any],
    cursor_field: str,
    key: Sequence[str],
    saved: ApiCursor | None,
    skip: set[tuple[Any, ...]],
) -> bool:
    value = record.get(cursor_field)
    if value is None:
        return False
    if saved is None:
        return True
    if not _comparable(value, saved.cursor):
        raise CheckFailed(
            "read_failed", f"the cursor field {cursor_field!r} changed type since the last read"
        )
    if value > saved.cursor:
        return True
    if value < saved.cursor:
        return False
    return not key or tuple(json_value(record.get(k)) for k in key) not in skip

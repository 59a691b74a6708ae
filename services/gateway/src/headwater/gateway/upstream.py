"""Calls to the services' internal HTTP APIs over pooled keep-alive connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

import aiohttp
from prometheus_client import Histogram
from yarl import URL

from headwater.common.http_client import PooledSession
from headwater.common.principal import Principal, PrincipalSigner
from headwater.common.telemetry import inject_headers

UPSTREAM_LATENCY = Histogram(
    "headwater_gateway_upstream_seconds",
    "Latency of calls from the gateway to a service",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes
    content_type: str


class UpstreamUnavailable(Exception):
    """The service did not answer; the gateway answers 503."""


# Printable ASCII but space: a query string's characters that go on the wire as they are.
_QUERY_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F))


class Upstream:
    """One internal service: a base URL and a pooled aiohttp session, opened lazily per worker process. Every
    call carries the caller's principal, signed for its method, path and query with the internal key."""

    def __init__(
        self, name: str, base_url: str, *, signer: PrincipalSigner, timeout: float, connections: int
    ) -> None:
        self.name = name
        self._base = base_url.rstrip("/")
        self._signer = signer
        self._session = PooledSession(timeout=timeout, connections=connections, keepalive_timeout=60)

    async def call(
        self, method: str, path: str, *, body: bytes | None = None, principal: Principal, query: str = ""
    ) -> UpstreamResponse:
        """Call `path` (decoded, as the service will see it) with the raw `query` string. The URL goes out
        exactly as signed (no re-quoting on the way), so the service checks the signature against the same
        path and query."""
        query = quote(query, safe=_QUERY_SAFE)
        headers = inject_headers(self._signer.headers(principal, method, path, query))
        if body is not None:
            headers["content-type"] = "application/json"
        url = URL(f"{self._base}{quote(path)}" + (f"?{query}" if query else ""), encoded=True)
        with UPSTREAM_LATENCY.labels(self.name).time():
            try:
                async with self._session.get().request(method, url, data=body, headers=headers) as resp:
                    payload = await resp.read()
                    return UpstreamResponse(
                        resp.status, payload, resp.headers.get("content-type", "application/json")
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise UpstreamUnavailable(f"{self.name} is unavailable: {exc!r}") from exc

    async def ready(self) -> None:
        async with self._session.get().get(f"{self._base}/health/ready") as resp:
            if resp.status != 200:
                raise UpstreamUnavailable(f"{self.name} answered {resp.status}")

    async def close(self) -> None:
        await self._session.close()

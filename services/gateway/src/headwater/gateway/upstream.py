"""Calls to the services' internal HTTP APIs over pooled keep-alive connections, each service behind a circuit
breaker and with a cap on the size of the answers the gateway buffers; uploads stream their bodies through."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

import aiohttp
from prometheus_client import Counter, Histogram
from yarl import URL

from headwater.common.http_client import PooledSession
from headwater.common.logging import get_logger
from headwater.common.principal import Principal, PrincipalSigner
from headwater.common.telemetry import inject_headers

log = get_logger(__name__)

UPSTREAM_LATENCY = Histogram(
    "headwater_gateway_upstream_seconds",
    "Latency of calls from the gateway to a service",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
UPSTREAM_REFUSED = Counter(
    "headwater_gateway_upstream_refused_total",
    "Calls to a service the gateway answered itself: unavailable (503, the call failed), breaker_open (503, "
    "not tried), too_large (502, the answer was over the cap)",
    ["service", "reason"],
)
BREAKER_OPEN = Counter(
    "headwater_gateway_upstream_breaker_opened_total",
    "Times the breaker of a service opened after consecutive connection failures",
    ["service"],
)


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    body: bytes
    content_type: str
    retry_after: str | None = None  # the service's own Retry-After (a 503 of its), relayed


class UpstreamUnavailable(Exception):
    """The service did not answer, or its breaker is open; the gateway answers 503 with `Retry-After`."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamTooLarge(Exception):
    """The service's answer is larger than the gateway relays; the gateway answers 502."""


class _Source:
    """The body of a streamed call: `chunks` read on aiohttp's behalf, remembering the exception that ended
    them (aiohttp reports it only as a broken connection)."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks
        self.error: Exception | None = None

    async def read(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                yield chunk
        except Exception as exc:
            self.error = exc
            raise


class Breaker:
    """A circuit breaker over one service's connection failures.

    Closed, every call goes through. After `failures` consecutive connection failures it opens: for
    `open_seconds` calls are refused at once, so requests to a service that is down fail fast instead of each
    waiting for a connect timeout. Then it is half-open: one call goes through as a probe (another one only if
    the probe has not reported back within `open_seconds`, say it was cancelled); its success closes the
    breaker, its failure opens it again. Any answer of the service, whatever its status, is a success."""

    def __init__(
        self, *, failures: int, open_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._open_seconds = open_seconds
        self._clock = clock
        self._failures = 0
        self._open_until = 0.0  # while the clock is before it: refuse
        self._probe_until = 0.0  # half-open: a probe is out until then

    @property
    def is_open(self) -> bool:
        return self._failures >= self._threshold

    def wait(self) -> float | None:
        """None when a call may go now (as a probe when the breaker is open), else seconds until one may."""
        if not self.is_open:
            return None
        now = self._clock()
        if now < self._open_until:
            return self._open_until - now
        if now < self._probe_until:
            return self._probe_until - now
        self._probe_until = now + self._open_seconds
        return None

    def succeeded(self) -> bool:
        """Record an answer; True when it closed an open breaker."""
        was_open = self.is_open
        self._failures = 0
        self._probe_until = 0.0
        return was_open

    def failed(self) -> bool:
        """Record a connection failure; True when it opened the breaker (or opened it again after a probe)."""
        self._failures += 1
        if not self.is_open:
            return False
        self._open_until = self._clock() + self._open_seconds
        self._probe_until = 0.0
        return True


# Printable ASCII but space: a query string's characters that go on the wire as they are.
_QUERY_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F))


class Upstream:
    """One internal service: a base URL and a pooled aiohttp session, opened lazily per worker process. Every
    call carries the caller's principal, signed for its method, path and query with the internal key.

    Connecting is bounded by `connect_timeout` (a service that is down costs that, not the whole `timeout`),
    consecutive connection failures open the service's `Breaker`, and an answer larger than `max_body` bytes is
    refused rather than buffered."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        signer: PrincipalSigner,
        timeout: float,
        connections: int,
        connect_timeout: float = 1.0,
        breaker_failures: int = 5,
        breaker_open_seconds: float = 5.0,
        max_body: int = 64 * 1024 * 1024,
    ) -> None:
        self.name = name
        self._base = base_url.rstrip("/")
        self._signer = signer
        self._session = PooledSession(
            timeout=timeout, connections=connections, keepalive_timeout=60, connect_timeout=connect_timeout
        )
        self.breaker = Breaker(failures=breaker_failures, open_seconds=breaker_open_seconds)
        self._max_body = max_body
        # A streamed body may take any time to send; then the answer must come within `timeout`.
        self._streaming = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=timeout)

    async def call(
        self, method: str, path: str, *, body: bytes | None = None, principal: Principal, query: str = ""
    ) -> UpstreamResponse:
        """Call `path` (decoded, as the service will see it) with the raw `query` string. The URL goes out
        exactly as signed (no re-quoting on the way), so the service checks the signature against the same
        path and query."""
        return await self._send(
            method,
            path,
            query,
            principal,
            data=body,
            content_type="application/json" if body is not None else None,
        )

    async def stream(
        self,
        method: str,
        path: str,
        chunks: AsyncIterable[bytes],
        *,
        principal: Principal,
        query: str = "",
        content_type: str = "application/octet-stream",
    ) -> UpstreamResponse:
        """Call `path` as `call` does with `chunks` as the body, sent as they come (chunked transfer encoding):
        a body of any size passes through without being held. The whole call is not bounded by the timeout, only
        the wait for the answer once the body is sent. When `chunks` fails (the client's upload broke or was
        refused) its exception is raised, not a service's unavailability: the service sees a broken body and
        keeps nothing of it."""
        source = _Source(chunks)
        try:
            return await self._send(
                method,
                path,
                query,
                principal,
                data=source.read(),
                content_type=content_type,
                timeout=self._streaming,
            )
        except UpstreamUnavailable:
            if source.error is not None:
                raise source.error from None
            raise

    async def _send(
        self,
        method: str,
        path: str,
        query: str,
        principal: Principal,
        *,
        data: bytes | AsyncIterator[bytes] | None,
        content_type: str | None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> UpstreamResponse:
        wait = self.breaker.wait()
        if wait is not None:
            UPSTREAM_REFUSED.labels(self.name, "breaker_open").inc()
            raise UpstreamUnavailable(
                f"{self.name} is unavailable (breaker open)", retry_after=math.ceil(wait)
            )
        query = quote(query, safe=_QUERY_SAFE)
        headers = inject_headers(self._signer.headers(principal, method, path, query))
        if content_type is not None:
            headers["content-type"] = content_type
        url = URL(f"{self._base}{quote(path)}" + (f"?{query}" if query else ""), encoded=True)
        session = self._session.get()
        with UPSTREAM_LATENCY.labels(self.name).time():
            try:
                request = (
                    session.request(method, url, data=data, headers=headers)
                    if timeout is None
                    else session.request(method, url, data=data, headers=headers, timeout=timeout)
                )
                async with request as resp:
                    if self.breaker.succeeded():
                        log.info("upstream_breaker_closed", service=self.name)
                    payload = await self._read(resp)
                    return UpstreamResponse(
                        resp.status,
                        payload,
                        resp.headers.get("content-type", "application/json"),
                        resp.headers.get("retry-after"),
                    )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                if self.breaker.failed():
                    BREAKER_OPEN.labels(self.name).inc()
                    log.warning("upstream_breaker_opened", service=self.name, error=repr(exc))
                UPSTREAM_REFUSED.labels(self.name, "unavailable").inc()
                raise UpstreamUnavailable(f"{self.name} is unavailable: {exc!r}") from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                UPSTREAM_REFUSED.labels(self.name, "unavailable").inc()
                raise UpstreamUnavailable(f"{self.name} is unavailable: {exc!r}") from exc

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        """The whole body, unless it is over the cap (said by its length, or found while reading it)."""
        if resp.content_length is not None and resp.content_length > self._max_body:
            self._too_large(resp.content_length)
        payload = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            payload += chunk
            if len(payload) > self._max_body:
                self._too_large(None)
        return bytes(payload)

    def _too_large(self, length: int | None) -> None:
        UPSTREAM_REFUSED.labels(self.name, "too_large").inc()
        log.warning("upstream_answer_too_large", service=self.name, length=length, cap=self._max_body)
        raise UpstreamTooLarge(
            f"the answer is larger than the gateway relays ({self._max_body} bytes): ask for less "
            "(a smaller limit or depth)"
        )

    async def close(self) -> None:
        await self._session.close()

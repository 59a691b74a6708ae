"""Outgoing HTTP: one pooled aiohttp session per process, opened on first use inside the running event loop
(aiohttp sessions belong to the loop that made them), reopened if closed, closed on shutdown."""

from __future__ import annotations

import aiohttp
from aiohttp.abc import AbstractResolver


class PooledSession:
    """Keep-alive connections (at most `connections`), a total `timeout` (and, when given, a shorter one for
    opening a connection), DNS answers cached for 5 minutes (from `resolver` when given: one that also decides
    which addresses may be reached)."""

    def __init__(
        self,
        *,
        timeout: float,
        connections: int,
        headers: dict[str, str] | None = None,
        keepalive_timeout: float | None = None,
        connect_timeout: float | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._connections = connections
        self._headers = headers
        self._keepalive = keepalive_timeout
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = (
                aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300, resolver=self._resolver)
                if self._keepalive is None
                else aiohttp.TCPConnector(
                    limit=self._connections,
                    ttl_dns_cache=300,
                    keepalive_timeout=self._keepalive,
                    resolver=self._resolver,
                )
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                headers=self._headers,
                # without a User-Agent of the caller's, none at all (rather than aiohttp's)
                skip_auto_headers=() if self._headers and "User-Agent" in self._headers else ("User-Agent",),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

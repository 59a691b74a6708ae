"""Sending notification requests over HTTP (aiohttp): one pooled session, a total timeout, no redirects, and
only to the destinations allowed (public addresses, or what the operator allow-lists)."""

from __future__ import annotations

import math
import time
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp

from headwater.common.http_client import PooledSession
from headwater.quality_alerting.adapters.destinations import Destinations, GuardedResolver, RefusedDestination
from headwater.quality_alerting.domain.notifications import SendResult

USER_AGENT = "Headwater-Notifier/1"


class HttpSender:
    """POSTs a body to a URL and reports what came of it; never raises for what the receiver does.

    Redirects are not followed: a webhook that moved should be reconfigured, and following one could carry a
    signed alert somewhere nobody configured. The receiver's answer is reduced to its status (and Retry-After):
    its body is never read back, so a channel cannot be used to read what a reachable server answers. A URL
    whose host is not a public address (see `Destinations`) is refused before anything is sent, for good.
    """

    def __init__(self, *, timeout: float, destinations: Destinations, connections: int = 50) -> None:
        self._destinations = destinations
        self._session = PooledSession(
            timeout=timeout,
            connections=connections,
            headers={"User-Agent": USER_AGENT},
            resolver=GuardedResolver(destinations),
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        started = time.perf_counter()
        try:
            self._destinations.check_literal(urlsplit(url).hostname or "")
            async with self._session.get().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                return SendResult(
                    status_code=resp.status,
                    retry_after=_retry_after(resp.headers.get("Retry-After")),
                    duration=time.perf_counter() - started,
                )
        except RefusedDestination as exc:
            return _refused(exc, started)
        except TimeoutError:
            error = f"timed out after {self._session.timeout.total:g} s"
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedDestination):
                return _refused(exc.os_error, started)
            error = f"{type(exc).__name__}: {exc}"
        except aiohttp.ClientError as exc:
            error = f"{type(exc).__name__}: {exc}"
        except ValueError as exc:  # an URL aiohttp cannot use
            error = f"invalid request: {exc}"
        return SendResult(status_code=None, error=error, duration=time.perf_counter() - started)

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> HttpSender:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _refused(exc: RefusedDestination, started: float) -> SendResult:
    return SendResult(status_code=None, error=str(exc), refused=True, duration=time.perf_counter() - started)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; the HTTP-date form is ignored (the backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None

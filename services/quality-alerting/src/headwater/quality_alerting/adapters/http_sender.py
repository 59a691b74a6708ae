"""Sending notification requests over HTTP (aiohttp): one pooled session, a total timeout, no redirects."""

from __future__ import annotations

import math
import time
from types import TracebackType

import aiohttp

from headwater.common.http_client import PooledSession
from headwater.quality_alerting.domain.notifications import SendResult

USER_AGENT = "Headwater-Notifier/1"
ERROR_BODY_BYTES = 300  # how much of a failed answer is kept as its last_error


class HttpSender:
    """POSTs a body to a URL and reports what came of it; never raises for what the receiver does.

    Redirects are not followed: a webhook that moved should be reconfigured, and following one could carry a
    signed alert somewhere nobody configured.
    """

    def __init__(self, *, timeout: float, connections: int = 50) -> None:
        self._session = PooledSession(
            timeout=timeout, connections=connections, headers={"User-Agent": USER_AGENT}
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        started = time.perf_counter()
        try:
            async with self._session.get().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                error = None
                if not 200 <= resp.status < 300:
                    error = (await resp.content.read(ERROR_BODY_BYTES)).decode("utf-8", "replace").strip()
                return SendResult(
                    status_code=resp.status,
                    error=error or None,
                    retry_after=_retry_after(resp.headers.get("Retry-After")),
                    duration=time.perf_counter() - started,
                )
        except TimeoutError:
            error = f"timed out after {self._session.timeout.total:g} s"
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


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; the HTTP-date form is ignored (the backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None

"""Retrying with exponential backoff: one helper for bounded retries of a call and one for loops that retry
forever (the relay, the notifier), so that every retry in Headwater waits the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from headwater.common.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


@dataclass
class Backoff:
    """Delays of `base * 2**n` seconds, capped at `cap`; `failed()` counts a failure and says how long to wait,
    `succeeded()` starts again from `base`."""

    base: float = 0.2
    cap: float = 5.0
    failures: int = field(default=0, init=False)

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2 ** min(attempt, 30))

    def failed(self) -> float:
        self.failures += 1
        return self.delay(self.failures)

    def succeeded(self) -> None:
        self.failures = 0


async def retry(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    retry_if: Callable[[Exception], bool],
    backoff: Backoff | None = None,
    event: str = "retry",
    **log_fields: object,
) -> T:
    """`await call()`, again after a backoff while it raises an error `retry_if` accepts, at most `attempts` times
    in all; the last error (or one `retry_if` refuses) is raised. Each retry is logged as `event`."""
    wait = backoff or Backoff()
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            attempt += 1
            if attempt >= attempts or not retry_if(exc):
                raise
            delay = wait.delay(attempt)
            log.warning(event, attempt=attempt, retry_in=delay, error=repr(exc)[:500], **log_fields)
            await asyncio.sleep(delay)

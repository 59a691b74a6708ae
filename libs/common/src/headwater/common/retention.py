"""Retention as every service that keeps old data runs it, around the service's own use case that deletes what
is older than a cutoff: `POST /log_cleanup` counts its cutoff back from now, a `retention.requested` event
carries its own (so a redelivered request deletes nothing more)."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from headwater.common.contracts.watcher import LogCleanupCounts
from headwater.common.events import RetentionRequested
from headwater.common.messaging.batch import IngressBatch
from headwater.common.metrics import RETENTION_REQUESTS

U = TypeVar("U")
U_contra = TypeVar("U_contra", contravariant=True)


class DeleteOld(Protocol[U_contra]):
    """A service's use case that deletes what is older than `cutoff`, in committed batches of `batch_size`."""

    def __call__(
        self, uow: U_contra, *, cutoff: datetime, batch_size: int
    ) -> Awaitable[LogCleanupCounts]: ...


@dataclass(frozen=True)
class Retention(Generic[U]):
    """A service's retention: its `delete_old` use case, run for `POST /log_cleanup` and `retention.requested`."""

    delete_old: DeleteOld[U]

    async def clean_up_logs(self, uow: U, *, retention_days: int, batch_size: int) -> LogCleanupCounts:
        """`POST /log_cleanup`: everything older than `retention_days` before now."""
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        return await self.delete_old(uow, cutoff=cutoff, batch_size=batch_size)

    async def apply_requests(self, uow: U, requests: list[RetentionRequested]) -> Sequence[Any]:
        """`retention.requested`: each request's own cutoff, so a redelivered one deletes nothing more."""
        for request in requests:
            await self.delete_old(uow, cutoff=request.cutoff, batch_size=request.batch_size)
        return []

    def requests_batch(self, consumer: str) -> IngressBatch[RetentionRequested]:
        """How the service's `retention.requested` subscriber handles a batch (`consumer`: its dead letters' name)."""
        return IngressBatch[RetentionRequested].of_events(
            RetentionRequested, consumer=consumer, counter=RETENTION_REQUESTS, record=self.apply_requests
        )

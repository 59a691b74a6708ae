"""The unit of work as use cases see it (a port): a transaction, the events it publishes and the messages it
has processed; no database types. `headwater.common.db.unit_of_work` implements it on Postgres and
`headwater.common.testing.unit_of_work` in memory.

One spelling everywhere: a use case takes `uow: UnitOfWork` (not yet opened) and owns its transaction —
`async with uow: ...; await uow.commit()`; entrypoints hold a `UnitOfWorkFactory` named `uow_factory` and
call it once per use case. A unit of work may be opened again after it is closed (a batch that falls back to
one transaction per item does so).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol, Self, TypeVar

from headwater.common.events import Event


class UnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def publish(self, *events: Event) -> None:
        """Queue events; they reach the outbox in the same transaction on `commit()`, or never."""
        ...

    async def claim(self, consumer: str, message_ids: Iterable[str]) -> set[str]:
        """The ids among `message_ids` this consumer has not processed yet, recorded as processed in this
        transaction (the idempotent-consumer inbox)."""
        ...

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        """A nested transaction: on error its writes and the events published inside it are both undone."""
        ...

    async def commit(self) -> None: ...


U_co = TypeVar("U_co", bound=UnitOfWork, covariant=True)


class UnitOfWorkFactory(Protocol[U_co]):
    """Makes a fresh unit of work; built once in the composition root."""

    def __call__(self) -> U_co: ...


__all__ = ["UnitOfWork", "UnitOfWorkFactory"]

"""Ports of ingestion's use cases: the metadata repositories behind the unit of work. Protocols only; Postgres
implements them in `adapters/db`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from headwater.ingestion.domain.metadata import (
    ErrorFilter,
    FatalErrorRecord,
    Filter,
    HistoryEntry,
    NewFatalError,
    Stored,
)


class Documents(Protocol):
    """Versioned documents of one kind (datasets, destinations, data sources); each write is kept in history."""

    async def add(
        self, *, state: str, name: str | None, parent_id: int | None, body: dict[str, Any], by: str | None
    ) -> Stored: ...

    async def get(
        self, entity_id: int, data_sources: Sequence[int] | None = None, *, lock: bool = False
    ) -> Stored | None:
        """The document if it exists and `data_sources` (None: any) let the caller see it; `lock` holds it
        until the transaction ends."""
        ...

    async def replace(
        self,
        current: Stored,
        *,
        state: str,
        name: str | None,
        parent_id: int | None,
        body: dict[str, Any],
        by: str | None,
        change: str = "updated",
    ) -> Stored: ...

    async def history(self, entity_id: int) -> list[HistoryEntry]: ...

    async def walk(
        self, matching: Filter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[Stored]: ...

    async def names(self, ids: Sequence[int]) -> dict[int, str | None]: ...

    async def last_change(self, entity_id: int) -> datetime | None: ...


class FatalErrors(Protocol):
    async def add_or_count(self, error: NewFatalError, dataset_id: int | None) -> FatalErrorRecord: ...

    async def get(
        self, error_id: int, data_sources: Sequence[int] | None = None
    ) -> FatalErrorRecord | None: ...

    async def walk(
        self, matching: ErrorFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[FatalErrorRecord]: ...

    async def mark_deleted(
        self,
        *,
        error_id: int | None,
        job_name: str | None,
        job_type: str | None,
        error: str | None,
        data_sources: Sequence[int] | None = None,
    ) -> int: ...


class FieldValidations(Protocol):
    async def get(self, dataset_id: int, field_name: str) -> dict[str, Any] | None: ...

    async def put(self, dataset_id: int, field_name: str, rules: dict[str, Any]) -> None: ...

    async def of_dataset(self, dataset_id: int) -> dict[str, dict[str, Any]]: ...

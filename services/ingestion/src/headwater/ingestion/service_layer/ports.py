"""What the ingestion use cases need from the destination warehouse (PostgresWarehouse implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from headwater.ingestion.arrow import RecordBatch
from headwater.ingestion.domain.records import IgnoredFile, LoadSummary, QuarantinedRow, QuarantineRecord
from headwater.ingestion.domain.validation import FieldRule


class Loading(Protocol):
    """One file's load, all or nothing."""

    @property
    def previous(self) -> LoadSummary | None: ...

    @property
    def already_loaded(self) -> bool: ...

    async def copy_rows(self, columns: Sequence[str], csv: bytes) -> None: ...

    async def copy_bad_rows(self, records: Sequence[QuarantineRecord]) -> None: ...

    async def finish(self, summary: LoadSummary) -> None: ...


class Reprocessing(Protocol):
    rows: list[QuarantinedRow]

    async def move(self, columns: Sequence[str], csv: bytes, ids: Sequence[int]) -> None: ...

    async def update_reasons(self, reasons: Sequence[tuple[int, str, str | None, str, str]]) -> None: ...


class Warehouse(Protocol):
    async def ensure_table(self, table: str, rules: Sequence[FieldRule]) -> None: ...

    def loading(
        self, table: str, stored_item_id: int, *, replace: bool = False
    ) -> AbstractAsyncContextManager[Loading]: ...

    def reprocessing(
        self, table: str, *, after_id: int, limit: int, ids: Sequence[int] | None = None
    ) -> AbstractAsyncContextManager[Reprocessing]: ...

    async def ignore_file(self, table: str, stored_item_id: int) -> IgnoredFile: ...

    def encode_rows(self, batch: RecordBatch) -> bytes:
        """Rows in the warehouse's COPY input format (CPU work, thread-safe: called off the event loop)."""
        ...

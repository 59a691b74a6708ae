"""The line signatures ignored per data source of a dataset."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from headwater.common.db.repository import Repository
from headwater.ingestion.adapters.db.tables import ignored_signatures


class IgnoredSignatures(Repository):
    async def add(self, dataset_id: int, pairs: Sequence[tuple[int, str]], by: str | None) -> int:
        if not pairs:
            return 0
        rows = [
            {"dataset_id": dataset_id, "data_source_id": source, "signature": signature, "created_by": by}
            for source, signature in dict.fromkeys(pairs)
        ]
        result = await self.write(pg_insert(ignored_signatures).values(rows).on_conflict_do_nothing())
        return int(result.rowcount or 0)

    async def signatures_for(self, dataset_id: int, data_source_id: int | None = None) -> set[str]:
        i = ignored_signatures.c
        stmt = select(i.signature).where(i.dataset_id == dataset_id)
        if data_source_id is not None:
            stmt = stmt.where(i.data_source_id == data_source_id)
        return {str(s) for s in (await self.conn.scalars(stmt.distinct())).all()}

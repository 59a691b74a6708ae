"""The idempotent consumer: which messages a consumer has already processed, in its own schema."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection


async def claim_new(
    conn: AsyncConnection, inbox: Table, consumer: str, message_ids: Iterable[str]
) -> set[str]:
    """Record `message_ids` for `consumer` in the caller's transaction; return those not seen before.

    The caller applies effects only for the returned ids and commits; a duplicate delivery then finds its id
    already recorded and is skipped.
    """
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return set()
    stmt = (
        insert(inbox)
        .values([{"consumer": consumer, "message_id": m} for m in ids])
        .on_conflict_do_nothing()
        .returning(inbox.c.message_id)
    )
    return set((await conn.execute(stmt)).scalars())

"""The idempotent consumer: which messages a consumer has already processed, in its own schema."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection


async def claim_new(
    conn: AsyncConnection, inbox: Table, consumer: str, message_ids: Iterable[str]
) -> set[str]:
    """Record `message_ids` for `consumer` in the caller's transaction; return those not seen before.

    The caller applies effects only for the returned ids and commits; a duplicate delivery then finds its id
    already recorded and is skipped. One statement whatever the number of ids.
    """
    ids = list(dict.fromkeys(message_ids))
    if not ids:
        return set()
    result = await conn.execute(
        text(
            f'INSERT INTO "{inbox.schema}".{inbox.name} (consumer, message_id) '
            "SELECT :consumer, unnest(CAST(:ids AS text[])) "
            "ON CONFLICT DO NOTHING RETURNING message_id"
        ),
        {"consumer": consumer, "ids": ids},
    )
    return set(result.scalars())

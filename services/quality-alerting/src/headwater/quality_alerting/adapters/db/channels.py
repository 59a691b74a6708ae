"""Notification channels in Postgres: create, read, change and delete; the secret leaves only for sending."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

# What the API shows: whether a secret is set, never the secret.
PUBLIC_COLUMNS = (
    "id, name, kind, url, secret IS NOT NULL AS has_secret, scope, pipeline_type_id, pipeline_id, "
    "min_severity, suppression_minutes, active, created_at, updated_at"
)
WRITABLE = (
    "name",
    "kind",
    "url",
    "secret",
    "scope",
    "pipeline_type_id",
    "pipeline_id",
    "min_severity",
    "suppression_minutes",
    "active",
)


class DuplicateName(Exception):
    """Another channel already has this name."""


async def insert(conn: AsyncConnection, fields: Mapping[str, Any]) -> RowMapping | None:
    """The new channel, or None when the name is taken."""
    values = {f: fields.get(f) for f in WRITABLE}
    result = await conn.execute(
        text(
            f"INSERT INTO notification_channel ({', '.join(WRITABLE)}) "
            f"VALUES ({', '.join(':' + f for f in WRITABLE)}) "
            f"ON CONFLICT (name) DO NOTHING RETURNING {PUBLIC_COLUMNS}"
        ),
        values,
    )
    return result.mappings().first()


async def get(conn: AsyncConnection, channel_id: int) -> RowMapping | None:
    result = await conn.execute(
        text(f"SELECT {PUBLIC_COLUMNS} FROM notification_channel WHERE id = :id"), {"id": channel_id}
    )
    return result.mappings().first()


async def get_with_secret(conn: AsyncConnection, channel_id: int, *, lock: bool = False) -> RowMapping | None:
    """The whole row, secret included: for sending, and for merging a change (`lock` holds it meanwhile)."""
    result = await conn.execute(
        text(
            f"SELECT {PUBLIC_COLUMNS}, secret FROM notification_channel WHERE id = :id"
            + (" FOR UPDATE" if lock else "")
        ),
        {"id": channel_id},
    )
    return result.mappings().first()


async def list_all(conn: AsyncConnection) -> list[RowMapping]:
    result = await conn.execute(text(f"SELECT {PUBLIC_COLUMNS} FROM notification_channel ORDER BY id"))
    return list(result.mappings())


async def update(conn: AsyncConnection, channel_id: int, fields: Mapping[str, Any]) -> RowMapping | None:
    """Set `fields` (writable ones only); None when the channel is gone. DuplicateName on a taken name."""
    values = {f: v for f, v in fields.items() if f in WRITABLE}
    assignments = ", ".join(f"{f} = :{f}" for f in values)
    try:
        result = await conn.execute(
            text(
                f"UPDATE notification_channel SET {assignments + ', ' if assignments else ''}"
                f"updated_at = now() WHERE id = :channel_id RETURNING {PUBLIC_COLUMNS}"
            ),
            {**values, "channel_id": channel_id},
        )
    except IntegrityError as exc:
        if "uq_notification_channel_name" in str(exc.orig):
            raise DuplicateName(str(fields.get("name"))) from exc
        raise
    return result.mappings().first()


async def delete(conn: AsyncConnection, channel_id: int) -> bool:
    """Delete the channel and (by cascade) its deliveries; False when there was none."""
    result = await conn.execute(
        text("DELETE FROM notification_channel WHERE id = :id RETURNING id"), {"id": channel_id}
    )
    return result.first() is not None

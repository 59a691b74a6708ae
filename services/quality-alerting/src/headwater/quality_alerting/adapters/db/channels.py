"""Notification channels in Postgres: create, read, change and delete; the secret leaves only for sending."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text

from headwater.common.db.errors import integrity_errors_as_domain_errors
from headwater.common.db.repository import Repository
from headwater.common.errors import Duplicate
from headwater.quality_alerting.domain.notifications import CHANNEL_FIELDS, Channel, ChannelWithSecret

NAME_CONSTRAINT = "uq_notification_channel_name"

# What the API shows: whether a secret is set, never the secret.
PUBLIC_COLUMNS = (
    "id, name, kind, url, secret IS NOT NULL AS has_secret, scope, pipeline_type_id, pipeline_id, "
    "min_severity, suppression_minutes, active, created_at, updated_at"
)
WRITABLE = CHANNEL_FIELDS


class Channels(Repository):
    """Notification channels; a taken name is `Duplicate`."""

    async def insert(self, fields: Mapping[str, Any]) -> Channel:
        """The new channel; Duplicate when the name is taken."""
        values = {f: fields.get(f) for f in WRITABLE}
        result = await self.conn.execute(
            text(
                f"INSERT INTO notification_channel ({', '.join(WRITABLE)}) "
                f"VALUES ({', '.join(':' + f for f in WRITABLE)}) "
                f"ON CONFLICT (name) DO NOTHING RETURNING {PUBLIC_COLUMNS}"
            ),
            values,
        )
        row = result.mappings().first()
        if row is None:
            raise Duplicate(f"channel name {fields.get('name')!r} is taken", constraint=NAME_CONSTRAINT)
        return Channel(**row)

    async def get(self, channel_id: int) -> Channel | None:
        result = await self.conn.execute(
            text(f"SELECT {PUBLIC_COLUMNS} FROM notification_channel WHERE id = :id"), {"id": channel_id}
        )
        row = result.mappings().first()
        return None if row is None else Channel(**row)

    async def get_with_secret(self, channel_id: int, *, lock: bool = False) -> ChannelWithSecret | None:
        """The whole row, secret included: for sending, and for merging a change (`lock` holds it meanwhile)."""
        result = await self.conn.execute(
            text(
                f"SELECT {PUBLIC_COLUMNS}, secret FROM notification_channel WHERE id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"id": channel_id},
        )
        row = result.mappings().first()
        return None if row is None else ChannelWithSecret(**row)

    async def list_page(self, limit: int, offset: int) -> list[Channel]:
        result = await self.conn.execute(
            text(
                f"SELECT {PUBLIC_COLUMNS} FROM notification_channel ORDER BY id LIMIT :limit OFFSET :offset"
            ),
            {"limit": limit, "offset": offset},
        )
        return [Channel(**row) for row in result.mappings()]

    async def update(self, channel_id: int, fields: Mapping[str, Any]) -> Channel | None:
        """Set `fields` (writable ones only); None when the channel is gone; Duplicate on a taken name."""
        values = {f: v for f, v in fields.items() if f in WRITABLE}
        assignments = ", ".join(f"{f} = :{f}" for f in values)
        with integrity_errors_as_domain_errors():
            result = await self.conn.execute(
                text(
                    f"UPDATE notification_channel SET {assignments + ', ' if assignments else ''}"
                    f"updated_at = now() WHERE id = :channel_id RETURNING {PUBLIC_COLUMNS}"
                ),
                {**values, "channel_id": channel_id},
            )
        row = result.mappings().first()
        return None if row is None else Channel(**row)

    async def delete(self, channel_id: int) -> bool:
        """Delete the channel and (by cascade) its deliveries; False when there was none."""
        result = await self.conn.execute(
            text("DELETE FROM notification_channel WHERE id = :id RETURNING id"), {"id": channel_id}
        )
        return result.first() is not None

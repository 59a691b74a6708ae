"""quality-alerting's outbox as queue monitoring reads it: how many events wait to be published."""

from __future__ import annotations

from sqlalchemy import text

from headwater.common.db.repository import Repository

UNSENT = text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")


class OutboxMessages(Repository):
    async def count_unsent(self) -> int:
        return int(await self.conn.scalar(UNSENT) or 0)

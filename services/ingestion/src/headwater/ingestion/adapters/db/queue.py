"""The service's own messages for an operator: outbox rows (sent or waiting) and outbox quarantine rows, one
listing by id (a quarantined row keeps the id it had in the outbox), and their replay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Text,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from headwater.common.db.repository import Repository
from headwater.ingestion.adapters.db.tables import outbox, outbox_quarantine
from headwater.ingestion.domain.queue import QueueFilter, QueueMessage, Rescheduled

o, q = outbox.c, outbox_quarantine.c
_messages = union_all(
    select(
        o.id,
        o.topic,
        o.key,
        o.event_type,
        o.payload,
        o.created_at,
        o.sent_at,
        literal(None, DateTime(timezone=True)).label("quarantined_at"),
        literal(None, Text).label("reason"),
    ),
    select(
        q.id,
        q.topic,
        q.key,
        q.event_type,
        q.payload,
        q.created_at,
        literal(None, DateTime(timezone=True)).label("sent_at"),
        q.quarantined_at,
        q.reason,
    ),
).subquery("message")
m = _messages.c
# Every event of ingestion is about a data source (`DatasetEvent.data_source_id`): its payload is JSON.
event_data_source = cast(
    cast(func.convert_from(m.payload, "UTF8"), JSONB)["data_source_id"].astext, BigInteger
)
_COLUMNS = [m[name] for name in QueueMessage.__struct_fields__]
# What moves back from the quarantine to the outbox (the outbox gives it a new id and no `sent_at`).
_REPLAYED = ("topic", "key", "event_type", "event_id", "payload", "headers", "created_at")


class QueueMessages(Repository):
    def _visible(self, data_sources: Sequence[int] | None) -> ColumnElement[bool]:
        return true() if data_sources is None else event_data_source.in_(list(data_sources))

    async def walk(
        self, matching: QueueFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[QueueMessage]:
        where: list[ColumnElement[bool]] = [self._visible(matching.data_sources)]
        if matching.acknowledged is not None:
            where.append(m.sent_at.is_not(None) if matching.acknowledged else m.sent_at.is_(None))
        if matching.topic is not None:
            where.append(m.topic == matching.topic)
        if matching.data_source_id is not None:
            where.append(event_data_source == matching.data_source_id)
        if from_id is not None:
            where.append(m.id >= from_id if ascending else m.id <= from_id)
        stmt = select(*_COLUMNS).where(*where).order_by(m.id.asc() if ascending else m.id.desc()).limit(limit)
        return await self.all(stmt, QueueMessage)

    async def get(self, message_id: int, data_sources: Sequence[int] | None = None) -> QueueMessage | None:
        stmt = select(*_COLUMNS).where(m.id == message_id, self._visible(data_sources))
        return await self.first(stmt, QueueMessage)

    async def reschedule(self, ids: Sequence[int]) -> Rescheduled:
        wanted = sorted(set(ids))
        waiting = (
            await self.conn.scalars(
                select(o.id).where(o.id.in_(wanted), o.sent_at.is_(None)).order_by(o.id).with_for_update()
            )
        ).all()
        sent_again = (
            await self.conn.scalars(
                update(outbox)
                .where(o.id.in_(wanted), o.sent_at.is_not(None))
                .values(sent_at=None)
                .returning(o.id)
            )
        ).all()
        moved: dict[int, int] = {}
        rows = (
            await self.conn.execute(
                delete(outbox_quarantine)
                .where(q.id.in_(wanted))
                .returning(q.id, *(q[name] for name in _REPLAYED))
            )
        ).all()
        for row in sorted(rows, key=lambda r: int(r[0])):
            values: dict[str, Any] = {name: row[i + 1] for i, name in enumerate(_REPLAYED)}
            new_id: int = (
                await self.conn.execute(insert(outbox).values(**values).returning(o.id))
            ).scalar_one()
            moved[int(row[0])] = new_id
        return Rescheduled(
            from_quarantine=moved,
            sent_again=sorted(int(i) for i in sent_again),
            already_waiting=[int(i) for i in waiting],
        )

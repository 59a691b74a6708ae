"""Alerts in Postgres: raised once per occurrence, listed with cursor pagination, resolved and muted.

Reads and changes take `data_sources`, the data sources the caller may see (None: all of them), so an alert
out of its reach is missing, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import msgspec
from sqlalchemy import CursorResult, text

from headwater.common.db.repository import Repository, columns
from headwater.quality_alerting.domain.alerts import Alert, AlertDraft, AlertFilter

ALERT_COLUMNS = (
    "id, alert_type, severity, pipeline_id, pipeline_name, pipeline_type_id, execution_id, data_source_id, "
    "dataset_id, stored_item_id, count, blocks_stored_item, msg, body, "
    "dedup_key, condition_key, resolved, resolved_at, resolve_action, is_muted, created_at"
)
# The Postgres type of each column a draft fills (its `body` travels as JSON text and is stored as jsonb).
DRAFT_TYPES = {
    "alert_type": "text",
    "severity": "text",
    "msg": "text",
    "dedup_key": "text",
    "condition_key": "text",
    "pipeline_id": "bigint",
    "pipeline_name": "text",
    "pipeline_type_id": "bigint",
    "execution_id": "bigint",
    "data_source_id": "bigint",
    "dataset_id": "bigint",
    "stored_item_id": "bigint",
    "count": "integer",
    "blocks_stored_item": "boolean",
    "is_muted": "boolean",
    "body": "text",
}
DRAFT_COLUMNS = tuple(f.name for f in fields(AlertDraft) if f.name != "body")
_NAMES = ", ".join((*DRAFT_COLUMNS, "body"))
# The drafts whose dedup key is new, in one statement.
INSERT_NEW = text(
    f"INSERT INTO alert ({_NAMES}) "
    f"SELECT {', '.join(f'a.{c}' for c in DRAFT_COLUMNS)}, a.body::jsonb FROM unnest("
    + ", ".join(f"CAST(:{c} AS {DRAFT_TYPES[c]}[])" for c in (*DRAFT_COLUMNS, "body"))
    + f") AS a({_NAMES}) "
    f"ORDER BY a.dedup_key ON CONFLICT (dedup_key) DO NOTHING RETURNING {ALERT_COLUMNS}"
)


def _within(data_sources: Sequence[int] | None) -> tuple[str, dict[str, Any]]:
    """The condition (and its parameter) that keeps only the alerts of `data_sources`; none when None."""
    if data_sources is None:
        return "TRUE", {}
    return "data_source_id = ANY(CAST(:data_sources AS bigint[]))", {"data_sources": list(data_sources)}


def _filters(matching: AlertFilter) -> tuple[list[str], dict[str, Any]]:
    params = matching.columns()
    where = [f"{column} = :{column}" for column in params]
    if matching.data_sources is not None:
        within, scope = _within(matching.data_sources)
        where.append(within)
        params.update(scope)
    return where, params


def _alerts(result: CursorResult[Any]) -> list[Alert]:
    return [Alert(**row) for row in result.mappings()]


def _first(result: CursorResult[Any]) -> Alert | None:
    row = result.mappings().first()
    return None if row is None else Alert(**row)


class Alerts(Repository):
    """Alerts, raised once per occurrence, listed with cursor pagination, resolved and muted."""

    async def insert_new(self, drafts: Sequence[AlertDraft]) -> list[Alert]:
        """Insert the drafts whose `dedup_key` is new, in one statement; return the alerts inserted."""
        if not drafts:
            return []
        params = columns(drafts, *DRAFT_COLUMNS)
        params["body"] = [msgspec.json.encode(d.body).decode() for d in drafts]
        result = await self.conn.execute(INSERT_NEW, params)
        return _alerts(result)

    async def get(self, alert_id: int, data_sources: Sequence[int] | None = None) -> Alert | None:
        within, params = _within(data_sources)
        result = await self.conn.execute(
            text(f"SELECT {ALERT_COLUMNS} FROM alert WHERE id = :id AND {within}"), {"id": alert_id, **params}
        )
        return _first(result)

    async def walk(
        self, matching: AlertFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[Alert]:
        """Up to `limit` alerts `matching`, walking the ids up (or down) from `from_id` inclusive (from the
        oldest or the newest without it), in walk order."""
        where, params = _filters(matching)
        if from_id is not None:
            where.append("id >= :from_id" if ascending else "id <= :from_id")
            params["from_id"] = from_id
        params["limit"] = limit
        result = await self.conn.execute(
            text(
                f"SELECT {ALERT_COLUMNS} FROM alert WHERE {' AND '.join(where) or 'TRUE'} "
                f"ORDER BY id {'ASC' if ascending else 'DESC'} LIMIT :limit"
            ),
            params,
        )
        return _alerts(result)

    async def resolve(
        self, alert_id: int, action: str | None, data_sources: Sequence[int] | None = None
    ) -> Alert | None:
        """Resolve an unresolved alert; None when it is missing or was already resolved (then nothing changes)."""
        within, params = _within(data_sources)
        result = await self.conn.execute(
            text(
                "UPDATE alert SET resolved = TRUE, resolved_at = now(), resolve_action = :action "
                f"WHERE id = :id AND NOT resolved AND {within} RETURNING {ALERT_COLUMNS}"
            ),
            {"id": alert_id, "action": action, **params},
        )
        return _first(result)

    async def set_muted(
        self, alert_id: int, muted: bool, data_sources: Sequence[int] | None = None
    ) -> Alert | None:
        within, params = _within(data_sources)
        result = await self.conn.execute(
            text(f"UPDATE alert SET is_muted = :muted WHERE id = :id AND {within} RETURNING {ALERT_COLUMNS}"),
            {"id": alert_id, "muted": muted, **params},
        )
        return _first(result)

"""Deleting quality-alerting's old data in batches: results, check logs, metric copies, resolved alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from headwater.common.db.repository import Repository

# table -> (its key, the condition that makes a row old). Deliveries go with their alerts (ON DELETE CASCADE);
# unresolved alerts are kept whatever their age.
OLD_ROWS: dict[str, tuple[str, str]] = {
    "anomaly_result": ("id", "detected_at < :cutoff"),
    "freshness_log": ("id", "checked_at < :cutoff"),
    "timeliness_log": ("id", "checked_at < :cutoff"),
    "execution_metric": ("execution_id", "end_date < :cutoff OR (end_date IS NULL AND start_date < :cutoff)"),
    "alert": ("id", "resolved AND created_at < :cutoff"),
}


class Retention(Repository):
    """Old rows deleted in batches, table by table."""

    async def delete_batch(self, table: str, cutoff: datetime, batch_size: int) -> int:
        """Delete up to `batch_size` old rows of `table` in the caller's transaction; how many were deleted."""
        key, old = OLD_ROWS[table]
        result = await self.conn.execute(
            text(
                f"DELETE FROM {table} WHERE {key} IN ("
                f"SELECT {key} FROM {table} WHERE {old} ORDER BY {key} LIMIT :batch_size FOR UPDATE SKIP LOCKED)"
            ),
            {"cutoff": cutoff, "batch_size": batch_size},
        )
        return result.rowcount

"""Fatal errors in Postgres: reported (a repeat adds to the count of the one not deleted), listed with cursor
pagination, soft-deleted.

Reads and deletions take `data_sources`, the data sources the caller may see (None: all of them), so an error
out of its reach is missing, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import text

from headwater.common.db.repository import Repository
from headwater.quality_alerting.domain.fatal_errors import (
    FatalError,
    FatalErrorFilter,
    FatalErrorMatch,
    FatalErrorReport,
)

ERROR_COLUMNS = (
    "id, job_name, job_type, error, module, msg, stack_trace, data_source_id, settings_model_id, dataset_id, "
    "stored_item_id, alert_item_id, meta_data, count, deleted, created_at"
)
REPORTED = (
    "job_name, job_type, error, module, msg, stack_trace, data_source_id, settings_model_id, dataset_id, "
    "stored_item_id, alert_item_id"
)
_REPORTED = REPORTED.split(", ")

# A report of an error not deleted adds to its count and brings its latest wording, details and references.
REPORT = text(
    f"INSERT INTO fatal_error ({REPORTED}, meta_data, fingerprint) "
    f"VALUES ({', '.join(f':{c}' for c in _REPORTED)}, CAST(:meta_data AS jsonb), :fingerprint) "
    "ON CONFLICT (fingerprint) WHERE NOT deleted DO UPDATE SET count = fatal_error.count + 1, "
    "msg = excluded.msg, stack_trace = excluded.stack_trace, meta_data = excluded.meta_data, "
    "settings_model_id = COALESCE(excluded.settings_model_id, fatal_error.settings_model_id), "
    "dataset_id = COALESCE(excluded.dataset_id, fatal_error.dataset_id), "
    "alert_item_id = COALESCE(excluded.alert_item_id, fatal_error.alert_item_id) "
    f"RETURNING {ERROR_COLUMNS}"
)


def _within(data_sources: Sequence[int] | None) -> tuple[str, dict[str, Any]]:
    if data_sources is None:
        return "TRUE", {}
    return "data_source_id = ANY(CAST(:data_sources AS bigint[]))", {"data_sources": list(data_sources)}


def _equal(values: dict[str, Any], data_sources: Sequence[int] | None) -> tuple[list[str], dict[str, Any]]:
    within, scope = _within(data_sources)
    return [f"{column} = :{column}" for column in values] + [within], values | scope


class FatalErrors(Repository):
    """Fatal errors, counted per fingerprint, listed with cursor pagination, soft-deleted."""

    async def report(self, report: FatalErrorReport) -> FatalError:
        params = {c: getattr(report, c) for c in _REPORTED}
        params["meta_data"] = msgspec.json.encode(report.meta_data).decode()
        params["fingerprint"] = report.fingerprint
        return await self.written(REPORT.bindparams(**params), FatalError)

    async def get(self, error_id: int, data_sources: Sequence[int] | None = None) -> FatalError | None:
        where, params = _equal({"id": error_id}, data_sources)
        return await self.first(
            text(f"SELECT {ERROR_COLUMNS} FROM fatal_error WHERE {' AND '.join(where)}").bindparams(**params),
            FatalError,
        )

    async def walk(
        self, matching: FatalErrorFilter, *, from_id: int | None, ascending: bool, limit: int
    ) -> list[FatalError]:
        """Up to `limit` errors `matching`, walking the ids up (or down) from `from_id` inclusive (from the
        oldest or the newest without it), in walk order."""
        where, params = _equal(matching.columns(), matching.data_sources)
        if from_id is not None:
            where.append("id >= :from_id" if ascending else "id <= :from_id")
            params["from_id"] = from_id
        params["limit"] = limit
        return await self.all(
            text(
                f"SELECT {ERROR_COLUMNS} FROM fatal_error WHERE {' AND '.join(where)} "
                f"ORDER BY id {'ASC' if ascending else 'DESC'} LIMIT :limit"
            ).bindparams(**params),
            FatalError,
        )

    async def delete(self, matching: FatalErrorMatch, data_sources: Sequence[int] | None = None) -> list[int]:
        """Mark every error `matching` that is not deleted yet as deleted; their ids."""
        where, params = _equal(matching.columns(), data_sources)
        result = await self.conn.execute(
            text(
                "UPDATE fatal_error SET deleted = TRUE, deleted_at = now() "
                f"WHERE NOT deleted AND {' AND '.join(where)} RETURNING id"
            ),
            params,
        )
        return sorted(result.scalars())

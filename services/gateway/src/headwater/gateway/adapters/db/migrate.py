"""Runs the gateway's migrations (its own step, never at application start-up)."""

from __future__ import annotations

from pathlib import Path

from headwater.common.db.migrations import migrate as _migrate
from headwater.gateway import SCHEMA
from headwater.gateway.adapters.db.tables import metadata

SCRIPT_LOCATION = Path(__file__).parent / "migrations"


async def migrate(dsn: str, revision: str = "head", *, downgrade: bool = False) -> None:
    await _migrate(
        dsn,
        schema=SCHEMA,
        script_location=SCRIPT_LOCATION,
        metadata=metadata,
        revision=revision,
        downgrade=downgrade,
    )

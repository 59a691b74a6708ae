"""Housekeeping of the identity tables: expired sessions and old login attempts are deleted now and then."""

from __future__ import annotations

import asyncio

from headwater.common.logging import get_logger
from headwater.gateway.adapters.db.identity import IdentityStore
from headwater.gateway.settings import Settings

log = get_logger(__name__)


class Housekeeping:
    def __init__(self, store: IdentityStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def prune(self) -> tuple[int, int]:
        """Expired sessions and old login attempts go, so neither table grows without bound."""
        sessions, attempts = await self.store.prune(
            login_attempts_days=self.settings.login_attempts_retention_days
        )
        log.info("identity_pruned", sessions_deleted=sessions, login_attempts_deleted=attempts)
        return sessions, attempts

    async def keep_tidy(self) -> None:
        """Prune now and then every `housekeeping_interval_seconds` (harmless on several replicas at once)."""
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("identity_prune_failed")
            await asyncio.sleep(self.settings.housekeeping_interval_seconds)

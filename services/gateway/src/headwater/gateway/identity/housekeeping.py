"""Housekeeping of the identity tables: expired sessions, old login and sign-up attempts and sign-ups nobody
activated are deleted now and then."""

from __future__ import annotations

import asyncio

from headwater.common.logging import get_logger
from headwater.gateway.adapters.db.identity import IdentityStore, Pruned
from headwater.gateway.settings import Settings

log = get_logger(__name__)


class Housekeeping:
    def __init__(self, store: IdentityStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    async def prune(self) -> Pruned:
        """Expired sessions, old login and sign-up attempts and never-activated sign-ups go, so no table grows
        without bound."""
        pruned = await self.store.prune(
            login_attempts_days=self.settings.login_attempts_retention_days,
            signup_pending_days=self.settings.signup_pending_days,
        )
        log.info(
            "identity_pruned",
            sessions_deleted=pruned.sessions,
            attempts_deleted=pruned.attempts,
            pending_signups_deleted=pruned.pending_signups,
        )
        return pruned

    async def keep_tidy(self) -> None:
        """Prune now and then every `housekeeping_interval_seconds` (harmless on several replicas at once)."""
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("identity_prune_failed")
            await asyncio.sleep(self.settings.housekeeping_interval_seconds)

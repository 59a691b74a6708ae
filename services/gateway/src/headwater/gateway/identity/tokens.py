"""API tokens: creating one (shown once, stored as its digest), listing a user's and revoking one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping

from headwater.common.errors import Conflict, Invalid, NotFound
from headwater.common.logging import get_logger
from headwater.common.principal import Principal
from headwater.gateway.adapters.db.identity import IdentityStore
from headwater.gateway.identity import credentials
from headwater.gateway.identity.authentication import PrincipalCache
from headwater.gateway.settings import Settings

log = get_logger(__name__)


class ApiTokens:
    def __init__(self, store: IdentityStore, settings: Settings, cache: PrincipalCache) -> None:
        self.store = store
        self.settings = settings
        self.cache = cache

    async def create(
        self, owner: Principal, name: str, *, expires_in_days: int | None = None, token: str | None = None
    ) -> tuple[RowMapping, str]:
        """A new API token of `owner` (`token` fixes its value, for the bootstrap token); returns the row and the
        token itself, which is shown this once and stored only as its digest. With a lifetime cap
        (`HEADWATER_GATEWAY_API_TOKEN_MAX_DAYS`) a token without a lifetime gets the cap, a longer one is refused."""
        if not 1 <= len(name) <= 200:
            raise Invalid("name must be 1-200 characters")
        longest = self.settings.api_token_max_days or 3650
        if expires_in_days is not None and not 1 <= expires_in_days <= longest:
            raise Invalid(f"expires_in_days must be between 1 and {longest}")
        if expires_in_days is None and self.settings.api_token_max_days:
            expires_in_days = self.settings.api_token_max_days
        secret = token or credentials.new_api_token()
        row = await self.store.create_api_token(
            {
                "id": uuid.uuid4(),
                "user_id": uuid.UUID(owner.subject),
                "name": name,
                "token_hash": credentials.digest(secret),
                "prefix": credentials.token_prefix(secret),
                "expires_at": datetime.now(UTC) + timedelta(days=expires_in_days)
                if expires_in_days
                else None,
            }
        )
        if row is None:
            raise Conflict("this token exists already")
        log.info("api_token_created", token_id=str(row["id"]), user_id=owner.subject)
        return row, secret

    async def is_live(self, token: str) -> bool:
        """Whether this token would authenticate now (neither revoked nor expired)."""
        return await self.store.user_of_api_token(credentials.digest(token)) is not None

    async def of_owner(self, owner: Principal) -> list[RowMapping]:
        return await self.store.api_tokens_of(uuid.UUID(owner.subject))

    async def revoke(self, caller: Principal, token_id: str) -> None:
        try:
            row = await self.store.api_token(uuid.UUID(token_id))
        except ValueError:
            row = None
        if row is None or (str(row["user_id"]) != caller.subject and caller.role != "superuser"):
            raise NotFound(f"API token {token_id} not found")
        await self.store.revoke_api_token(row["id"])
        self.cache.clear()
        log.info("api_token_revoked", token_id=token_id, user_id=str(row["user_id"]), by=caller.subject)

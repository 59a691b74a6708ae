"""Who a request's credentials belong to (an API token, a JWT access token or a session cookie), with a short
cache of the answers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter
from sqlalchemy import RowMapping

from headwater.common.principal import Principal, Role
from headwater.gateway.adapters.db.identity import IdentityStore
from headwater.gateway.identity import credentials
from headwater.gateway.settings import Settings

AUTHENTICATIONS = Counter(
    "headwater_gateway_authentications_total",
    "Credentials checked against the store (cache misses) by kind and outcome",
    ["via", "outcome"],
)


def principal_of(user: RowMapping, via: Any) -> Principal:
    role: Role = user["user_type"]
    return Principal(
        subject=str(user["id"]),
        username=user["username"],
        role=role,
        data_sources=tuple(user["data_source_ids"]) if role == "limited_to_source" else None,
        via=via,
    )


def session_key(session_id: str) -> bytes:
    """The cache key of a session cookie's principal (API tokens and access tokens have keys of their own)."""
    return b"s" + credentials.digest(session_id)


@dataclass
class PrincipalCache:
    """Principals of recently seen credentials (keyed by their digest) for `ttl` seconds: most requests then
    need no query, and a revoked token, a closed session or a changed role still takes effect within `ttl`."""

    ttl: float
    max_entries: int = 10_000
    # Credentials that matched nobody, remembered as briefly: a flood of made-up tokens costs one query each
    # per `miss_ttl`, not one per request.
    miss_ttl: float = 2.0
    _entries: dict[bytes, tuple[float, Principal]] = field(default_factory=dict)
    _misses: dict[bytes, float] = field(default_factory=dict)

    def get(self, key: bytes) -> Principal | None:
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: bytes, principal: Principal) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, principal)

    def missed_lately(self, key: bytes) -> bool:
        until = self._misses.get(key)
        return until is not None and until >= time.monotonic()

    def put_miss(self, key: bytes) -> None:
        if len(self._misses) >= self.max_entries:
            self._misses.clear()
        self._misses[key] = time.monotonic() + min(self.ttl, self.miss_ttl)

    def drop(self, key: bytes) -> None:
        self._entries.pop(key, None)
        self._misses.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self._misses.clear()


class Authentication:
    def __init__(self, store: IdentityStore, settings: Settings, cache: PrincipalCache) -> None:
        self.store = store
        self.settings = settings
        self.cache = cache

    async def authenticate(self, bearer: str | None, session_id: str | None) -> Principal | None:
        """The principal of a request's credentials (a Bearer API token or access token, else the session
        cookie), or None when there are none or they are not valid."""
        if bearer:
            if credentials.looks_like_jwt(bearer):
                return await self._by_access_token(bearer)
            return await self._cached(b"t" + credentials.digest(bearer), "api_token")
        if session_id:
            return await self._cached(session_key(session_id), "session")
        return None

    async def _by_access_token(self, token: str) -> Principal | None:
        try:
            user_id = credentials.read_access_token(token, key=self.settings.signing_key)
        except credentials.InvalidAccessToken:
            AUTHENTICATIONS.labels("access_token", "refused").inc()
            return None
        key = b"u" + user_id.bytes
        if (hit := self.cache.get(key)) is not None:
            return hit
        user = await self.store.user_by_id(user_id)
        return self._remember(key, user, "access_token")

    async def _cached(self, key: bytes, via: str) -> Principal | None:
        if (hit := self.cache.get(key)) is not None:
            return hit
        if self.cache.missed_lately(key):
            AUTHENTICATIONS.labels(via, "refused").inc()
            return None
        digest = key[1:]
        user = (
            await self.store.user_of_api_token(digest)
            if via == "api_token"
            else await self.store.user_of_session(digest)
        )
        return self._remember(key, user, via)

    def _remember(self, key: bytes, user: RowMapping | None, via: str) -> Principal | None:
        if user is None or not user["is_active"]:
            AUTHENTICATIONS.labels(via, "refused").inc()
            self.cache.put_miss(key)
            return None
        AUTHENTICATIONS.labels(via, "accepted").inc()
        principal = principal_of(user, via)
        self.cache.put(key, principal)
        return principal

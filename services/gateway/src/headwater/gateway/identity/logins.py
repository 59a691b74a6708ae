"""Logging in with a password (rate-limited and recorded), the session a login opens and the JWT access token
it can be exchanged for."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import RowMapping

from headwater.common.errors import UseCaseError
from headwater.common.logging import get_logger
from headwater.gateway.adapters.db.identity import IdentityStore
from headwater.gateway.identity import credentials
from headwater.gateway.identity.authentication import PrincipalCache, session_key
from headwater.gateway.settings import Settings

log = get_logger(__name__)

LOGINS = Counter(
    "headwater_gateway_logins_total",
    "Password logins (POST /login, POST /token) by outcome",
    ["outcome"],  # succeeded, failed, inactive, rate_limited, throttled (slowed down, then checked)
)


class NotAuthenticated(UseCaseError):
    status = 401


class WrongPassword(NotAuthenticated):
    """No user with this name, or not this password (the two are not told apart)."""


class TooManyAttempts(UseCaseError):
    status = 429


def throttle_delay(failures: int, limit: int, longest: float) -> float:
    """Seconds to wait before checking a password of a name with `failures` recent failures (from anywhere):
    none below half the per-user limit, then doubling from a quarter second up to `longest`."""
    free = max(1, limit // 2)
    if failures < free:
        return 0.0
    return min(longest, 0.25 * 2 ** (failures - free))


class Logins:
    def __init__(self, store: IdentityStore, settings: Settings, cache: PrincipalCache) -> None:
        self.store = store
        self.settings = settings
        self.cache = cache

    async def check_password(self, login: str, password: str, address: str) -> RowMapping:
        """The user these credentials belong to; every attempt is recorded.

        Refused (429) once too many logins failed for this name from this address, or from this address at all,
        within the window. Failures of this name from other addresses never lock it (anyone could keep `admin`
        locked out): they slow every login of the name down instead, more the more there are."""
        s = self.settings
        failures = await self.store.recent_failures(login, address, s.login_window_seconds)
        if (
            failures.of_user_here >= s.login_failures_per_user
            or failures.from_address >= s.login_failures_per_address
        ):
            LOGINS.labels("rate_limited").inc()
            log.warning("login_rate_limited", username=login, address=address)
            raise TooManyAttempts(
                "too many failed logins; try again later",
                headers={"retry-after": str(s.login_window_seconds)},
            )
        if delay := throttle_delay(failures.of_user, s.login_failures_per_user, s.login_max_delay_seconds):
            LOGINS.labels("throttled").inc()
            await asyncio.sleep(delay)
        user = await self.store.user_for_login(login)
        ok = await credentials.verify_password(user["password_hash"] if user else None, password)
        active = ok and user is not None and user["is_active"]
        await self.store.record_login(login, address, succeeded=active)
        if not ok or user is None:
            LOGINS.labels("failed").inc()
            log.info("login_failed", username=login, address=address)
            raise WrongPassword("Incorrect username or password")
        if not active:  # the right password: saying why does not help a guesser
            LOGINS.labels("inactive").inc()
            log.info("login_inactive", user_id=str(user["id"]), address=address)
            raise NotAuthenticated("this account is not active; a superuser must activate it")
        LOGINS.labels("succeeded").inc()
        log.info("login_succeeded", user_id=str(user["id"]), address=address)
        return user

    async def open_session(self, user: RowMapping) -> tuple[str, datetime]:
        session_id = credentials.new_session_id()
        expires = datetime.now(UTC) + timedelta(days=self.settings.session_days)
        await self.store.create_session(credentials.digest(session_id), user["id"], expires)
        return session_id, expires

    async def close_session(self, session_id: str) -> None:
        await self.store.delete_session(credentials.digest(session_id))
        self.cache.drop(session_key(session_id))

    def access_token(self, user: RowMapping) -> str:
        return credentials.issue_access_token(
            user["id"], key=self.settings.signing_key, minutes=self.settings.access_token_minutes
        )

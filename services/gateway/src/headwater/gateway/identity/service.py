"""Identity use cases on the `gateway` schema: sign-up, login, sessions, access tokens, users, API tokens,
projects and the bootstrap superuser. Every dialect's routes call these; none touches the store directly."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import RowMapping

from headwater.common.errors import Conflict, Invalid, NotFound, UseCaseError
from headwater.common.logging import get_logger
from headwater.common.principal import ROLES, Principal, Role
from headwater.gateway.adapters.db.identity import DuplicateUser, IdentityStore
from headwater.gateway.identity import credentials
from headwater.gateway.identity.policy import sees_every_project
from headwater.gateway.settings import Settings

log = get_logger(__name__)

LOGINS = Counter(
    "headwater_gateway_logins_total",
    "Password logins (POST /login, POST /token) by outcome",
    ["outcome"],  # succeeded, failed, inactive, rate_limited
)
AUTHENTICATIONS = Counter(
    "headwater_gateway_authentications_total",
    "Credentials checked against the store (cache misses) by kind and outcome",
    ["via", "outcome"],
)

USERNAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,150}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class NotAuthenticated(UseCaseError):
    status = 401


class Forbidden(UseCaseError):
    status = 403


class TooManyAttempts(UseCaseError):
    status = 429


def principal_of(user: RowMapping, via: Any) -> Principal:
    role: Role = user["user_type"]
    return Principal(
        subject=str(user["id"]),
        username=user["username"],
        role=role,
        data_sources=tuple(user["data_source_ids"]) if role == "limited_to_source" else None,
        via=via,
    )


@dataclass
class PrincipalCache:
    """Principals of recently seen credentials (keyed by their digest) for `ttl` seconds: most requests then
    need no query, and a revoked token, a closed session or a changed role still takes effect within `ttl`."""

    ttl: float
    max_entries: int = 10_000
    _entries: dict[bytes, tuple[float, Principal]] = field(default_factory=dict)

    def get(self, key: bytes) -> Principal | None:
        hit = self._entries.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: bytes, principal: Principal) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl, principal)

    def drop(self, key: bytes) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


@dataclass(frozen=True)
class NewUser:
    username: str
    email: str
    password: str
    user_type: Role
    first_name: str = ""
    last_name: str = ""
    is_active: bool = True
    is_verified: bool = False
    data_source_ids: tuple[int, ...] = ()


def _check_password(password: str) -> None:
    if len(password) < credentials.MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must be at least {credentials.MIN_PASSWORD_LENGTH} characters")


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise Invalid(f"user_type must be one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


class Identity:
    def __init__(self, store: IdentityStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.cache = PrincipalCache(ttl=settings.principal_cache_seconds)

    # -- users -------------------------------------------------------------------------------------------------

    async def create_user(self, new: NewUser, *, created_by: Principal | None = None) -> RowMapping:
        if not USERNAME.match(new.username):
            raise Invalid("username must be 1-150 letters, digits or _ . @ + -")
        if not EMAIL.match(new.email):
            raise Invalid("email is not a valid address")
        _check_password(new.password)
        _check_role(new.user_type)
        values = {
            "id": uuid.uuid4(),
            "username": new.username,
            "email": new.email,
            "password_hash": await credentials.hash_password(new.password),
            "first_name": new.first_name,
            "last_name": new.last_name,
            "user_type": new.user_type,
            "is_active": new.is_active,
            "is_verified": new.is_verified,
            "data_source_ids": list(new.data_source_ids),
            "created_by_user_id": uuid.UUID(created_by.subject)
            if created_by and _is_uuid(created_by)
            else None,
        }
        try:
            user = await self.store.create_user(values, projects=[self.settings.default_project])
        except DuplicateUser as exc:
            raise Conflict("a user with this username or email already exists") from exc
        log.info("user_created", user_id=str(user["id"]), username=user["username"], role=user["user_type"])
        return user

    async def signup(self, username: str, email: str, password: str) -> RowMapping:
        """A user who registers themself: refused when sign-up is closed, inactive until a superuser activates
        it when sign-up needs approval, so nobody reads anything without being let in."""
        if self.settings.signup == "closed":
            raise Forbidden("sign-up is closed; ask an administrator for an account")
        role = _check_role(self.settings.signup_role)
        active = self.settings.signup == "open"
        new = NewUser(username=username, email=email, password=password, user_type=role, is_active=active)
        return await self.create_user(new)

    async def user(self, user_id: str) -> RowMapping:
        try:
            found = await self.store.user_by_id(uuid.UUID(user_id))
        except ValueError:
            found = None
        if found is None:
            raise NotFound(f"user {user_id} not found")
        return found

    async def update_user(self, user_id: str, changes: dict[str, Any]) -> RowMapping:
        """Apply the given fields; a new password is hashed, a role or activity change ends the user's
        sessions and forgets the user's cached principals."""
        values = dict(changes)
        if "password" in values:
            _check_password(values["password"])
            values["password_hash"] = await credentials.hash_password(values.pop("password"))
        if "email" in values and not EMAIL.match(values["email"]):
            raise Invalid("email is not a valid address")
        if "user_type" in values:
            _check_role(values["user_type"])
        if "data_source_ids" in values:
            values["data_source_ids"] = list(values["data_source_ids"])
        current = await self.user(user_id)
        try:
            updated = await self.store.update_user(current["id"], values)
        except DuplicateUser as exc:
            raise Conflict("a user with this email already exists") from exc
        if updated is None:
            raise NotFound(f"user {user_id} not found")
        if values.keys() & {"password_hash", "user_type", "is_active", "data_source_ids"}:
            await self.store.delete_sessions_of(current["id"])
            self.cache.clear()
        log.info("user_updated", user_id=user_id, fields=sorted(changes))
        return updated

    async def users(self, *, offset: int, limit: int, newest_first: bool) -> list[RowMapping]:
        return await self.store.list_users(offset=offset, limit=limit, newest_first=newest_first)

    async def failed_logins(self, users: list[RowMapping]) -> dict[str, list[datetime]]:
        return await self.store.failed_logins_of([u["username"] for u in users])

    async def creators(self, users: list[RowMapping]) -> dict[uuid.UUID, RowMapping]:
        return await self.store.users_by_id(
            [u["created_by_user_id"] for u in users if u["created_by_user_id"]]
        )

    # -- logging in --------------------------------------------------------------------------------------------

    async def check_password(self, login: str, password: str, address: str) -> RowMapping:
        """The user these credentials belong to. Refused (429) once too many logins failed for this name or from
        this address within the window; every attempt is recorded."""
        s = self.settings
        by_user, by_address = await self.store.recent_failures(login, address, s.login_window_seconds)
        if by_user >= s.login_failures_per_user or by_address >= s.login_failures_per_address:
            LOGINS.labels("rate_limited").inc()
            log.warning("login_rate_limited", username=login, address=address)
            raise TooManyAttempts(
                "too many failed logins; try again later",
                headers={"retry-after": str(s.login_window_seconds)},
            )
        user = await self.store.user_for_login(login)
        ok = await credentials.verify_password(user["password_hash"] if user else None, password)
        active = ok and user is not None and user["is_active"]
        await self.store.record_login(login, address, succeeded=active)
        if not ok or user is None:
            LOGINS.labels("failed").inc()
            log.info("login_failed", username=login, address=address)
            raise NotAuthenticated("Incorrect username or password")
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
        key = credentials.digest(session_id)
        await self.store.delete_session(key)
        self.cache.drop(b"s" + key)

    def access_token(self, user: RowMapping) -> str:
        return credentials.issue_access_token(
            user["id"], key=self.settings.signing_key, minutes=self.settings.access_token_minutes
        )

    # -- authenticating a request ------------------------------------------------------------------------------

    async def authenticate(self, bearer: str | None, session_id: str | None) -> Principal | None:
        """The principal of a request's credentials (a Bearer API token or access token, else the session
        cookie), or None when there are none or they are not valid."""
        if bearer:
            if credentials.looks_like_jwt(bearer):
                return await self._by_access_token(bearer)
            return await self._cached(b"t" + credentials.digest(bearer), "api_token")
        if session_id:
            return await self._cached(b"s" + credentials.digest(session_id), "session")
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
            return None
        AUTHENTICATIONS.labels(via, "accepted").inc()
        principal = principal_of(user, via)
        self.cache.put(key, principal)
        return principal

    # -- API tokens --------------------------------------------------------------------------------------------

    async def create_api_token(
        self, owner: Principal, name: str, *, expires_in_days: int | None = None, token: str | None = None
    ) -> tuple[RowMapping, str]:
        """A new API token of `owner` (`token` fixes its value, for the bootstrap token); returns the row and the
        token itself, which is shown this once and stored only as its digest."""
        if not 1 <= len(name) <= 200:
            raise Invalid("name must be 1-200 characters")
        if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
            raise Invalid("expires_in_days must be between 1 and 3650")
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

    async def api_tokens(self, owner: Principal) -> list[RowMapping]:
        return await self.store.api_tokens_of(uuid.UUID(owner.subject))

    async def revoke_api_token(self, caller: Principal, token_id: str) -> None:
        try:
            row = await self.store.api_token(uuid.UUID(token_id))
        except ValueError:
            row = None
        if row is None or (str(row["user_id"]) != caller.subject and caller.role != "superuser"):
            raise NotFound(f"API token {token_id} not found")
        await self.store.revoke_api_token(row["id"])
        self.cache.clear()
        log.info("api_token_revoked", token_id=token_id, user_id=str(row["user_id"]), by=caller.subject)

    # -- projects ----------------------------------------------------------------------------------------------

    async def may_enter(self, principal: Principal, project_id: str) -> bool:
        if sees_every_project(principal.role):
            return True
        return _is_uuid(principal) and await self.store.is_member(project_id, uuid.UUID(principal.subject))

    async def members(self, project_id: str) -> list[RowMapping]:
        return await self.store.members(project_id)

    async def add_member(self, project_id: str, user_id: str) -> RowMapping:
        user = await self.user(user_id)
        await self.store.add_member(project_id, user["id"])
        log.info("project_member_added", project_id=project_id, user_id=user_id)
        return user

    async def remove_member(self, project_id: str, user_id: str) -> None:
        user = await self.user(user_id)
        if not await self.store.remove_member(project_id, user["id"]):
            raise NotFound(f"user {user_id} is not a member of project {project_id}")
        log.info("project_member_removed", project_id=project_id, user_id=user_id)

    # -- housekeeping ------------------------------------------------------------------------------------------

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

    # -- bootstrap ---------------------------------------------------------------------------------------------

    async def bootstrap(self) -> list[str]:
        """Make sure the bootstrap superuser (and its bootstrap API token, when configured) exist; returns what
        to tell the operator, including a generated password, once, when the user is new and none was given."""
        s = self.settings
        lines: list[str] = []
        user = await self.store.user_for_login(s.admin_username)
        if user is None:
            password = s.admin_password or credentials.generate_password()
            user = await self.create_user(
                NewUser(
                    username=s.admin_username,
                    email=s.admin_email,
                    password=password,
                    user_type="superuser",
                    is_verified=True,
                )
            )
            lines.append(f"created superuser {s.admin_username!r}")
            if not s.admin_password:
                lines.append(f"one-time password of {s.admin_username!r}: {password}  (shown only now)")
        elif user["user_type"] != "superuser":
            lines.append(f"warning: {s.admin_username!r} exists but is {user['user_type']}, not superuser")
        if s.bootstrap_token:
            owner = principal_of(user, "internal")
            try:
                await self.create_api_token(owner, "bootstrap", token=s.bootstrap_token)
                lines.append(f"created the bootstrap API token of {s.admin_username!r}")
            except Conflict:
                pass  # created by an earlier `make up`
        return lines


def _is_uuid(principal: Principal) -> bool:
    try:
        uuid.UUID(principal.subject)
    except ValueError:
        return False
    return True

"""Users: creating them (by an administrator, by sign-up, at bootstrap), reading and changing them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from headwater.common.errors import Conflict, Invalid, NotFound, UseCaseError
from headwater.common.logging import get_logger
from headwater.common.principal import ROLES, Principal, Role
from headwater.gateway.adapters.db.identity import DuplicateUser, IdentityStore
from headwater.gateway.identity import credentials
from headwater.gateway.identity.authentication import PrincipalCache
from headwater.gateway.settings import Settings

log = get_logger(__name__)

USERNAME = re.compile(r"^[A-Za-z0-9_.@+-]{1,150}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class Forbidden(UseCaseError):
    status = 403


class TooManySignups(UseCaseError):
    status = 429


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


def is_user(principal: Principal) -> bool:
    """Whether the principal's subject is a user id (an internal principal's is not)."""
    try:
        uuid.UUID(principal.subject)
    except ValueError:
        return False
    return True


def _check_password(password: str) -> None:
    if len(password) < credentials.MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must be at least {credentials.MIN_PASSWORD_LENGTH} characters")


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise Invalid(f"user_type must be one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


class Users:
    def __init__(self, store: IdentityStore, settings: Settings, cache: PrincipalCache) -> None:
        self.store = store
        self.settings = settings
        self.cache = cache

    async def create(self, new: NewUser, *, created_by: Principal | None = None) -> RowMapping:
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
            if created_by and is_user(created_by)
            else None,
        }
        try:
            user = await self.store.create_user(values, projects=[self.settings.default_project])
        except DuplicateUser as exc:
            raise Conflict("a user with this username or email already exists") from exc
        log.info("user_created", user_id=str(user["id"]), username=user["username"], role=user["user_type"])
        return user

    async def signup(self, username: str, email: str, password: str, address: str) -> RowMapping:
        """A user who registers themself: refused when sign-up is closed, inactive until a superuser activates
        it when sign-up needs approval, so nobody reads anything without being let in; at most
        `signups_per_address` from one client address within the login window."""
        if self.settings.signup == "closed":
            raise Forbidden("sign-up is closed; ask an administrator for an account")
        s = self.settings
        if await self.store.record_signup(address, s.login_window_seconds) > s.signups_per_address:
            log.warning("signup_rate_limited", address=address)
            raise TooManySignups(
                "too many sign-ups from this address; try again later",
                headers={"retry-after": str(s.login_window_seconds)},
            )
        role = _check_role(self.settings.signup_role)
        active = self.settings.signup == "open"
        new = NewUser(username=username, email=email, password=password, user_type=role, is_active=active)
        return await self.create(new)

    async def get(self, user_id: str) -> RowMapping:
        try:
            found = await self.store.user_by_id(uuid.UUID(user_id))
        except ValueError:
            found = None
        if found is None:
            raise NotFound(f"user {user_id} not found")
        return found

    async def update(self, user_id: str, changes: dict[str, Any]) -> RowMapping:
        """Apply the given fields; a new password is hashed and revokes the user's API tokens (whoever changed
        it may be locking out someone who learnt the old one), and a password, role or activity change ends the
        user's sessions and forgets the user's cached principals."""
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
        current = await self.get(user_id)
        try:
            updated = await self.store.update_user(current["id"], values)
        except DuplicateUser as exc:
            raise Conflict("a user with this email already exists") from exc
        if updated is None:
            raise NotFound(f"user {user_id} not found")
        if "password_hash" in values:
            revoked = await self.store.revoke_api_tokens_of(current["id"])
            log.info("api_tokens_revoked_on_password_change", user_id=user_id, tokens=revoked)
        if values.keys() & {"password_hash", "user_type", "is_active", "data_source_ids"}:
            await self.store.delete_sessions_of(current["id"])
            self.cache.clear()
        log.info("user_updated", user_id=user_id, fields=sorted(changes))
        return updated

    async def page(self, *, offset: int, limit: int, newest_first: bool) -> list[RowMapping]:
        return await self.store.list_users(offset=offset, limit=limit, newest_first=newest_first)

    async def failed_logins(self, users: list[RowMapping]) -> dict[str, list[datetime]]:
        return await self.store.failed_logins_of([u["username"] for u in users])

    async def creators(self, users: list[RowMapping]) -> dict[uuid.UUID, RowMapping]:
        return await self.store.users_by_id(
            [u["created_by_user_id"] for u in users if u["created_by_user_id"]]
        )

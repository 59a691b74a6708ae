"""Queries on the `gateway` schema: users, sessions, API tokens, projects, login attempts and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import RowMapping, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from headwater.gateway.adapters.db.tables import (
    api_token,
    audit_log,
    login_attempt,
    project,
    project_member,
    session,
    signup_attempt,
    user,
)

USER_COLUMNS = [c for c in user.c if c.name != "password_hash"]


class DuplicateUser(Exception):
    """The username or the email is taken (case-insensitively), as a username or as an email."""


LAST_USED_EVERY = timedelta(minutes=1)


class Failures(NamedTuple):
    of_user: int  # failed logins of the username since its last success, from anywhere
    of_user_here: int  # the same, from this address
    from_address: int  # failed logins from this address, whatever the name


class Pruned(NamedTuple):
    sessions: int
    attempts: int  # login and sign-up attempts
    pending_signups: int


class IdentityStore:
    """One method per query; each runs in its own short transaction on the gateway's pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- users -------------------------------------------------------------------------------------------------

    async def create_user(self, values: dict[str, Any], *, projects: Sequence[str] = ()) -> RowMapping:
        """A new user (with its password hash in `values`), member of `projects` (created when unseen).

        A login names a user by username or email, so neither may equal another user's username or email in
        either column: the unique indexes cover each column, and transaction-scoped locks on both names make
        the check across columns safe under concurrent sign-ups."""
        async with self.engine.begin() as conn:
            names = sorted({values["username"].lower(), values["email"].lower()})
            for name in names:
                await conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:n, 0))"), {"n": name})
            taken = await conn.execute(
                select(user.c.id)
                .where(or_(func.lower(user.c.username).in_(names), func.lower(user.c.email).in_(names)))
                .limit(1)
            )
            if taken.first() is not None:
                raise DuplicateUser("username or email taken")
            try:
                row = (
                    (await conn.execute(insert(user).values(**values).returning(*USER_COLUMNS)))
                    .mappings()
                    .one()
                )
            except IntegrityError as exc:
                raise DuplicateUser(str(exc.orig)) from exc
            for project_id in projects:
                await _join(conn, project_id, row["id"])
            return row

    async def user_by_id(self, user_id: uuid.UUID) -> RowMapping | None:
        async with self.engine.connect() as conn:
            q = select(*USER_COLUMNS).where(user.c.id == user_id)
            return (await conn.execute(q)).mappings().one_or_none()

    async def user_for_login(self, login: str) -> RowMapping | None:
        """The user whose username or email is `login` (case-insensitive), with the password hash. New users
        cannot make a name ambiguous (see `create_user`); for rows older than that rule the username wins."""
        async with self.engine.connect() as conn:
            name = login.lower()
            by_username = func.lower(user.c.username) == name
            q = (
                select(user)
                .where(or_(by_username, func.lower(user.c.email) == name))
                .order_by(by_username.desc(), user.c.created_at)
            )
            return (await conn.execute(q.limit(1))).mappings().one_or_none()

    async def update_user(self, user_id: uuid.UUID, values: dict[str, Any]) -> RowMapping | None:
        async with self.engine.begin() as conn:
            try:
                q = (
                    update(user)
                    .where(user.c.id == user_id)
                    .values(**values, updated_at=func.now())
                    .returning(*USER_COLUMNS)
                )
                return (await conn.execute(q)).mappings().one_or_none()
            except IntegrityError as exc:
                raise DuplicateUser(str(exc.orig)) from exc

    async def list_users(self, *, offset: int, limit: int, newest_first: bool) -> list[RowMapping]:
        order = (
            [user.c.created_at.desc(), user.c.id.desc()] if newest_first else [user.c.created_at, user.c.id]
        )
        async with self.engine.connect() as conn:
            q = select(*USER_COLUMNS).order_by(*order).offset(offset).limit(limit)
            return list((await conn.execute(q)).mappings())

    async def users_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RowMapping]:
        if not ids:
            return {}
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(*USER_COLUMNS).where(user.c.id.in_(ids)))).mappings()
            return {r["id"]: r for r in rows}

    # -- sessions ----------------------------------------------------------------------------------------------

    async def create_session(self, id_hash: bytes, user_id: uuid.UUID, expires_at: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(session).values(id_hash=id_hash, user_id=user_id, expires_at=expires_at)
            )
            # Each login tidies its user's expired sessions, so the table never grows without bound.
            await conn.execute(
                delete(session).where(session.c.user_id == user_id, session.c.expires_at < func.now())
            )

    async def user_of_session(self, id_hash: bytes) -> RowMapping | None:
        async with self.engine.connect() as conn:
            q = (
                select(*USER_COLUMNS)
                .join(session, session.c.user_id == user.c.id)
                .where(session.c.id_hash == id_hash, session.c.expires_at > func.now())
            )
            return (await conn.execute(q)).mappings().one_or_none()

    async def delete_session(self, id_hash: bytes) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(session).where(session.c.id_hash == id_hash))

    async def delete_sessions_of(self, user_id: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(session).where(session.c.user_id == user_id))

    # -- API tokens --------------------------------------------------------------------------------------------

    async def create_api_token(self, values: dict[str, Any]) -> RowMapping | None:
        """The new token's row; None when a token with this hash exists already."""
        async with self.engine.begin() as conn:
            q = (
                pg_insert(api_token)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["token_hash"])
                .returning(*[c for c in api_token.c if c.name != "token_hash"])
            )
            return (await conn.execute(q)).mappings().one_or_none()

    async def user_of_api_token(self, token_hash: bytes) -> RowMapping | None:
        """The owner of a live token (not revoked, not expired). A read: an unknown token writes nothing, and a
        known one is marked used at most once a minute."""
        async with self.engine.connect() as conn:
            q = (
                select(*USER_COLUMNS, api_token.c.id.label("token_id"), api_token.c.last_used_at)
                .join(api_token, api_token.c.user_id == user.c.id)
                .where(
                    api_token.c.token_hash == token_hash,
                    api_token.c.revoked_at.is_(None),
                    or_(api_token.c.expires_at.is_(None), api_token.c.expires_at > func.now()),
                )
            )
            found = (await conn.execute(q)).mappings().one_or_none()
            if found is None:
                return None
            if found["last_used_at"] is None or found["last_used_at"] < datetime.now(UTC) - LAST_USED_EVERY:
                await conn.execute(
                    update(api_token)
                    .where(api_token.c.id == found["token_id"])
                    .values(last_used_at=func.now())
                )
                await conn.commit()
            return found

    async def api_tokens_of(self, user_id: uuid.UUID) -> list[RowMapping]:
        async with self.engine.connect() as conn:
            q = (
                select(*[c for c in api_token.c if c.name != "token_hash"])
                .where(api_token.c.user_id == user_id, api_token.c.revoked_at.is_(None))
                .order_by(api_token.c.created_at.desc())
            )
            return list((await conn.execute(q)).mappings())

    async def api_token(self, token_id: uuid.UUID) -> RowMapping | None:
        async with self.engine.connect() as conn:
            q = select(*[c for c in api_token.c if c.name != "token_hash"]).where(api_token.c.id == token_id)
            return (await conn.execute(q)).mappings().one_or_none()

    async def revoke_api_token(self, token_id: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(api_token)
                .where(api_token.c.id == token_id, api_token.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )

    async def revoke_api_tokens_of(self, user_id: uuid.UUID) -> int:
        """Revoke every live token of the user; how many there were."""
        async with self.engine.begin() as conn:
            revoked = await conn.execute(
                update(api_token)
                .where(api_token.c.user_id == user_id, api_token.c.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
            return revoked.rowcount

    # -- projects ----------------------------------------------------------------------------------------------

    async def is_member(self, project_id: str, user_id: uuid.UUID) -> bool:
        async with self.engine.connect() as conn:
            q = select(text("1")).where(
                and_(project_member.c.project_id == project_id, project_member.c.user_id == user_id)
            )
            return (await conn.execute(q)).first() is not None

    async def members(self, project_id: str) -> list[RowMapping]:
        async with self.engine.connect() as conn:
            q = (
                select(user.c.id, user.c.username, user.c.email, user.c.user_type, project_member.c.added_at)
                .join(project_member, project_member.c.user_id == user.c.id)
                .where(project_member.c.project_id == project_id)
                .order_by(project_member.c.added_at, user.c.username)
            )
            return list((await conn.execute(q)).mappings())

    async def add_member(self, project_id: str, user_id: uuid.UUID) -> None:
        async with self.engine.begin() as conn:
            await _join(conn, project_id, user_id)

    async def remove_member(self, project_id: str, user_id: uuid.UUID) -> bool:
        async with self.engine.begin() as conn:
            q = delete(project_member).where(
                project_member.c.project_id == project_id, project_member.c.user_id == user_id
            )
            return (await conn.execute(q)).rowcount > 0

    # -- login attempts ----------------------------------------------------------------------------------------

    async def record_login(self, username: str, address: str, *, succeeded: bool) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(login_attempt).values(username=username.lower(), address=address, succeeded=succeeded)
            )

    async def recent_failures(self, username: str, address: str, window_seconds: int) -> Failures:
        """Failed logins within the window: of this username since its last success (from anywhere, and from
        this address), and from this address."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        """
                        WITH since AS (SELECT now() - make_interval(secs => :window) AS t)
                        SELECT
                          (SELECT count(*) FROM login_attempt a, since
                            WHERE a.username = :username AND a.at > since.t AND NOT a.succeeded
                              AND a.at > coalesce((SELECT max(s.at) FROM login_attempt s
                                                    WHERE s.username = :username AND s.succeeded
                                                      AND s.at > since.t), since.t)) AS by_user,
                          (SELECT count(*) FROM login_attempt a, since
                            WHERE a.username = :username AND a.address = :address AND a.at > since.t
                              AND NOT a.succeeded
                              AND a.at > coalesce((SELECT max(s.at) FROM login_attempt s
                                                    WHERE s.username = :username AND s.succeeded
                                                      AND s.at > since.t), since.t)) AS by_user_here,
                          (SELECT count(*) FROM login_attempt a, since
                            WHERE a.address = :address AND a.at > since.t AND NOT a.succeeded) AS by_address
                        """
                    ),
                    {"window": window_seconds, "username": username.lower(), "address": address},
                )
            ).one()
            return Failures(int(row.by_user), int(row.by_user_here), int(row.by_address))

    async def record_signup(self, address: str, window_seconds: int) -> int:
        """Record a sign-up from this address; how many there were from it within the window, this one included."""
        async with self.engine.begin() as conn:
            await conn.execute(insert(signup_attempt).values(address=address))
            q = text(
                "SELECT count(*) FROM signup_attempt WHERE address = :address "
                "AND at > now() - make_interval(secs => :window)"
            )
            return int((await conn.execute(q, {"address": address, "window": window_seconds})).scalar_one())

    async def failed_logins_of(self, usernames: Sequence[str], limit: int = 10) -> dict[str, list[datetime]]:
        """The latest failed login times of each username (lower-cased)."""
        if not usernames:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    """
                    SELECT username, at FROM (
                      SELECT username, at, row_number() OVER (PARTITION BY username ORDER BY at DESC) AS n
                      FROM login_attempt WHERE username = ANY(:names) AND NOT succeeded) r
                    WHERE n <= :limit ORDER BY at DESC
                    """
                ),
                {"names": [u.lower() for u in usernames], "limit": limit},
            )
            found: dict[str, list[datetime]] = {}
            for name, at in rows:
                found.setdefault(name, []).append(at)
            return found

    async def prune(self, *, login_attempts_days: int, signup_pending_days: int) -> Pruned:
        """Delete expired sessions, login and sign-up attempts older than the retention, and accounts that signed
        up themselves, were never activated nor changed by anyone, and are older than `signup_pending_days`."""
        async with self.engine.begin() as conn:
            sessions = (await conn.execute(delete(session).where(session.c.expires_at < func.now()))).rowcount
            attempts = 0
            for table in ("login_attempt", "signup_attempt"):
                attempts += (
                    await conn.execute(
                        text(f"DELETE FROM {table} WHERE at < now() - make_interval(days => :days)"),
                        {"days": login_attempts_days},
                    )
                ).rowcount
            pending = (
                await conn.execute(
                    delete(user).where(
                        user.c.is_active.is_(False),
                        user.c.created_by_user_id.is_(None),
                        user.c.updated_at == user.c.created_at,
                        user.c.created_at < func.now() - func.make_interval(0, 0, 0, signup_pending_days),
                    )
                )
            ).rowcount
            return Pruned(sessions, attempts, pending)

    # -- audit log ---------------------------------------------------------------------------------------------

    async def audit(self, entries: Sequence[dict[str, Any]]) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(audit_log), list(entries))

    async def audit_entries(self, *, limit: int, subject: str | None = None) -> list[RowMapping]:
        async with self.engine.connect() as conn:
            q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
            if subject is not None:
                q = q.where(audit_log.c.subject == subject)
            return list((await conn.execute(q)).mappings())


async def _join(conn: AsyncConnection, project_id: str, user_id: uuid.UUID) -> None:
    await conn.execute(pg_insert(project).values(id=project_id).on_conflict_do_nothing())
    await conn.execute(
        pg_insert(project_member).values(project_id=project_id, user_id=user_id).on_conflict_do_nothing()
    )

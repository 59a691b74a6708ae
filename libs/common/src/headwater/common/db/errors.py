"""Telling a database that is away (retry later) from a statement it refuses (a property of the data)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.exc import DBAPIError

# Connection lost or refused, server shutting down, too many clients, serialization failure, deadlock.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01")


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same work later may succeed (the database, not the data, is the problem)."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return is_transient(exc.orig) if exc.orig is not None else False
    if isinstance(exc, (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError)):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
        return True
    cause = exc.__cause__
    return cause is not None and cause is not exc and is_transient(cause)

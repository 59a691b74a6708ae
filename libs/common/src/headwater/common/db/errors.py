"""Telling a database that is away (retry later) from a statement it refuses (a property of the data), and\nturning a refusal into the repository errors use cases understand. The only place that reads SQLSTATEs."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from headwater.common.errors import Duplicate, MissingReference

# Connection lost or refused, server shutting down, too many clients, serialization failure, deadlock.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01")


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same work later may succeed (the database, not the data, is the problem)."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        return is_transient(exc.orig) if exc.orig is not None else False
    if isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError):
        return False  # asyncpg's own DataError: an argument it cannot encode (an int beyond int4), the data's fault
    if isinstance(
        exc, (OSError, TimeoutError, PoolTimeout, asyncpg.InterfaceError, asyncpg.ConnectionDoesNotExistError)
    ):
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        # The protocol of a connection the server dropped mid-statement: asyncpg's reset on release finds the
        # broken statement still "in progress" ("cannot switch to state 15"). The connection, not the data.
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
        return True
    cause = exc.__cause__
    return cause is not None and cause is not exc and is_transient(cause)


def is_statement_timeout(exc: BaseException) -> bool:
    """True when Postgres cancelled a statement that ran past `statement_timeout` (SQLSTATE 57014): the
    database is too busy or the question too large, and nothing was written."""
    return sqlstate_of(exc) == "57014"


def sqlstate_of(exc: BaseException) -> str:
    """The SQLSTATE of a database error (SQLAlchemy-wrapped or asyncpg's own), or ''."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return state if isinstance(state, str) else ""


def is_unique_violation(exc: BaseException) -> bool:
    return sqlstate_of(exc) == "23505" or "UniqueViolation" in type(getattr(exc, "orig", exc)).__name__


def is_foreign_key_violation(exc: BaseException) -> bool:
    return sqlstate_of(exc) == "23503" or "ForeignKeyViolation" in type(getattr(exc, "orig", exc)).__name__


def is_data_exception(exc: BaseException) -> bool:
    """A value Postgres cannot store or compare (class 22: out of range, invalid text, NUL byte): the
    caller's mistake, not the database's."""
    return sqlstate_of(exc).startswith("22")


# What a caller is told of a data exception, by SQLSTATE: in our words, since Postgres' own text names
# internals (types, encodings, the offending bytes) and is no contract.
_DATA_EXCEPTIONS = {
    "22001": "a text value is longer than its field allows",
    "22003": "a number is out of range",
    "22007": "a date or time is not valid",
    "22008": "a date or time is out of range",
    "22021": "a text value holds a NUL character or invalid Unicode",
    "22P02": "a value is not in a form its field accepts",
    "22P05": "a text value holds a NUL character or invalid Unicode",
}


def data_exception_detail(exc: BaseException) -> str:
    """The message for a caller whose value Postgres refused (`is_data_exception`), never Postgres' text."""
    return f"value rejected: {_DATA_EXCEPTIONS.get(sqlstate_of(exc), 'a value cannot be stored')}"


def _constraint(exc: BaseException) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


@contextmanager
def integrity_errors_as_domain_errors() -> Generator[None]:
    """Inside a repository: a unique violation leaves as `Duplicate`, a foreign-key violation as
    `MissingReference` (each naming the constraint); any other database error leaves unchanged."""
    try:
        yield
    except (IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
        if is_unique_violation(exc):
            raise Duplicate(constraint=_constraint(exc)) from exc
        if is_foreign_key_violation(exc):
            raise MissingReference(constraint=_constraint(exc)) from exc
        raise

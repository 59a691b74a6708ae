"""A database that is away is retried; a statement it refuses is not."""

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from headwater.common.db.errors import is_transient


def wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("stmt", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("closed"),
        asyncpg.CannotConnectNowError("starting up"),
        asyncpg.SerializationError("retry"),
        asyncpg.DeadlockDetectedError("retry"),
        wrapped(asyncpg.AdminShutdownError("shutdown")),
        wrapped(ValueError("x"), invalidated=True),
        # seen when Postgres stops under load: the pool resets a connection that died mid-statement
        asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
    ],
)
def test_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("dup"),
        asyncpg.NumericValueOutOfRangeError("big"),
        wrapped(asyncpg.CheckViolationError("check")),
        KeyError("bug"),
        # asyncpg's client-side DataError (an InterfaceError): an argument beyond its column type
        asyncpg.exceptions._base.DataError("invalid input for query argument $1: value out of int32 range"),
    ],
)
def test_not_transient(exc: BaseException) -> None:
    assert not is_transient(exc)

"""Async engine factory: asyncpg underneath, search_path pinned to the service's own schema, and every wait on
the database bounded (connecting, a pooled connection, a statement), so that a database that is away or slow
makes requests fail fast instead of hanging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def to_async_dsn(dsn: str) -> str:
    """`postgresql://…` → `postgresql+asyncpg://…` (SQLAlchemy's asyncpg dialect)."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if dsn.startswith(prefix):
            return "postgresql+asyncpg://" + dsn[len(prefix) :]
    raise ValueError(f"not a Postgres DSN: {dsn.split('@')[-1]!r}")


def to_asyncpg_dsn(dsn: str) -> str:
    """`postgresql+asyncpg://…` → `postgresql://…` (what asyncpg itself accepts)."""
    return "postgresql://" + to_async_dsn(dsn)[len("postgresql+asyncpg://") :]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a service waits on its database, in seconds (0: no limit for that wait).

    `statement` is Postgres' own `statement_timeout` (the server cancels the statement: SQLSTATE 57014); the
    client gives up on a statement `connect` seconds after that, which catches a server that stopped answering
    altogether. `connect` bounds opening a connection (asyncpg's default is 60 s), `pool` waiting for a pooled
    one when all are busy."""

    connect: float = 0.0
    statement: float = 0.0
    pool: float = 0.0

    def server_settings(self) -> dict[str, str]:
        """Settings every connection sets at start-up."""
        return {"statement_timeout": str(int(self.statement * 1000))} if self.statement > 0 else {}

    def connect_args(self) -> dict[str, Any]:
        """asyncpg's `connect()` (and `create_pool()`) arguments for these timeouts."""
        args: dict[str, Any] = {}
        if self.connect > 0:
            args["timeout"] = self.connect
        if self.statement > 0:
            args["command_timeout"] = self.statement + self.connect
        return args


NO_TIMEOUTS = Timeouts()


def create_engine(
    dsn: str,
    *,
    schema: str,
    pool_size: int = 10,
    max_overflow: int = 10,
    timeouts: Timeouts = NO_TIMEOUTS,
) -> AsyncEngine:
    """An engine whose connections see only `schema` by default and report the service as application.
    Without `timeouts` nothing is bounded (migrations may build indexes for as long as they need)."""
    return create_async_engine(
        to_async_dsn(dsn),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        **({"pool_timeout": timeouts.pool} if timeouts.pool > 0 else {}),
        connect_args={
            "server_settings": {
                "search_path": schema,
                "application_name": f"headwater-{schema}",
                **timeouts.server_settings(),
            },
            "statement_cache_size": 512,
            **timeouts.connect_args(),
        },
    )

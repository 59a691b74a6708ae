"""Async engine factory: asyncpg underneath, search_path pinned to the service's own schema."""

from __future__ import annotations

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


def create_engine(dsn: str, *, schema: str, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An engine whose connections see only `schema` by default and report the service as application."""
    return create_async_engine(
        to_async_dsn(dsn),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {"search_path": schema, "application_name": f"headwater-{schema}"},
            "statement_cache_size": 512,
        },
    )

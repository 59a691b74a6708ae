"""Alembic runner that keeps each service's version table inside the service's own schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from headwater.common.db.engine import create_engine


def alembic_config(script_location: Path, *, schema: str, metadata: MetaData) -> Config:
    """A programmatic alembic config (no alembic.ini) for one service's migrations folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["schema"] = schema
    cfg.attributes["target_metadata"] = metadata
    return cfg


def _not_version_table(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and name == "alembic_version")


def run_env(cfg: Config) -> None:
    """Body of every service's `env.py`: runs migrations on the connection passed in `cfg.attributes`."""
    from alembic import context

    connection: Connection = cfg.attributes["connection"]
    schema: str = cfg.attributes["schema"]
    context.configure(
        connection=connection,
        target_metadata=cfg.attributes["target_metadata"],
        version_table_schema=schema,
        include_schemas=False,
        include_object=_not_version_table,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def migrate(
    dsn: str,
    *,
    schema: str,
    script_location: Path,
    metadata: MetaData,
    revision: str = "head",
    downgrade: bool = False,
) -> None:
    """Upgrade (or downgrade) `schema` to `revision`. The schema itself is created when missing."""
    engine = create_engine(dsn, schema=schema, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
            if not exists:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))

            def _run(sync_conn: Connection) -> None:
                cfg = alembic_config(script_location, schema=schema, metadata=metadata)
                cfg.attributes["connection"] = sync_conn
                if downgrade:
                    command.downgrade(cfg, revision)
                else:
                    command.upgrade(cfg, revision)

            await conn.run_sync(_run)
    finally:
        await engine.dispose()

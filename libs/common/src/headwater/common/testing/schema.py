"""Comparing a migrated schema with the tables in code, for each service's migration tests."""

from __future__ import annotations

from typing import TypeGuard

from sqlalchemy import Connection, ForeignKeyConstraint, MetaData

from headwater.common.db import create_engine


async def schema_differences(dsn: str, schema: str, metadata: MetaData) -> list[object]:
    """What alembic's autogenerate would change to make the migrated schema match the tables in code."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(dsn, schema=schema)

    def compare(sync_conn: Connection) -> list[object]:
        context = MigrationContext.configure(
            sync_conn, opts={"include_object": _not_version_table, "compare_type": True}
        )
        return _without_fk_spelling(compare_metadata(context, metadata))

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


def _fk_shape(fk: ForeignKeyConstraint) -> tuple[object, ...]:
    return (
        fk.table.name,
        tuple(c.name for c in fk.columns),
        fk.referred_table.name,
        tuple(e.column.name for e in fk.elements),
        fk.ondelete,
    )


def _is_fk_diff(diff: object, *kinds: str) -> TypeGuard[tuple[str, ForeignKeyConstraint]]:
    """An alembic diff `(kind, constraint)` of one of `kinds` ("add_fk", "remove_fk")."""
    return isinstance(diff, tuple) and diff[0] in kinds


def _without_fk_spelling(diffs: list[object]) -> list[object]:
    """Drop foreign keys reported removed and added with the same shape: the reflected ones name their target
    without the schema (it is the search path) and long names come back truncated; the keys are the same."""
    removed = {_fk_shape(d[1]) for d in diffs if _is_fk_diff(d, "remove_fk")}
    added = {_fk_shape(d[1]) for d in diffs if _is_fk_diff(d, "add_fk")}
    same = removed & added
    return [d for d in diffs if not (_is_fk_diff(d, "remove_fk", "add_fk") and _fk_shape(d[1]) in same)]


def _not_version_table(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (type_ == "table" and name == "alembic_version")

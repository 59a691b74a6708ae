"""Columns that several schemas spell the same way, defined once for the tables in code and their migrations.

A migration that uses one of these creates what it says today, so they are never edited: a table that needs
something else gets a column of its own (and a migration that makes it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    String,
    func,
    text,
)

# The units a freshness or timeliness interval is counted in, as SQL for an `IN` check.
DATEPARTS = "('minute', 'hour', 'day', 'week', 'month', 'year')"

# What a run reports it did to its target, each null when not reported.
ROW_COUNTS = ("inserts", "updates", "soft_deletes", "total_rows")


def identity_key() -> Column[Any]:
    """`id`, the primary key: a bigint the database numbers unless the writer gives one."""
    return Column("id", BigInteger, Identity(always=False), primary_key=True)


def reference(name: str, target: str | Column[Any], *, ondelete: str | None = None, **kw: Any) -> Column[Any]:
    """A required bigint naming a row of another table by its id (`target`: that column, or `schema.table.id`)."""
    return Column(name, BigInteger, ForeignKey(target, ondelete=ondelete), nullable=False, **kw)


def created_at(name: str = "created_at") -> Column[Any]:
    """When the row was written, set by the database; `created_at` unless the table names it for its event."""
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


def timestamps() -> list[Column[Any]]:
    """`created_at`, and `updated_at`: null until a writer updates the row."""
    return [created_at(), Column("updated_at", DateTime(timezone=True))]


def check_settings(check: str) -> list[Column[Any]]:
    """The settings of a pipeline's `freshness` or `timeliness` check: the interval allowed, as a number of
    dateparts (both null when there is none), and whether the check is muted."""
    return [
        Column(f"{check}_number", Integer),
        Column(f"{check}_datepart", String(10)),
        Column(f"mute_{check}_check", Boolean, nullable=False, server_default=text("false")),
    ]


def row_counts() -> list[Column[Any]]:
    """The `ROW_COUNTS` of a run, as reported by it (execution-tracking) or copied from there (quality-alerting)."""
    return [Column(name, BigInteger) for name in ROW_COUNTS]

"""The destinations a sync can write to, by kind."""

from __future__ import annotations

from functools import cache

from headwater.ingestion.adapters.connectors.iceberg_destination import IcebergDestination
from headwater.ingestion.adapters.connectors.parquet_destination import ParquetDestination
from headwater.ingestion.adapters.connectors.postgres_destination import PostgresDestination
from headwater.ingestion.domain.connectors import Destination


class UnknownDestination(LookupError):
    """A destination kind no connector has."""

    def __init__(self, kind: str, known: list[str]) -> None:
        super().__init__(f"unknown destination type {kind!r}: use one of {', '.join(known)}")
        self.kind = kind
        self.known = known


@cache
def _connectors() -> dict[str, Destination]:
    # Built once: connectors hold no state.
    connectors: list[Destination] = [PostgresDestination(), ParquetDestination(), IcebergDestination()]
    return {connector.kind: connector for connector in connectors}


def destinations() -> dict[str, Destination]:
    """Every destination connector by its kind."""
    return dict(_connectors())


def destination(kind: str) -> Destination:
    """The destination connector of `kind`, or `UnknownDestination` naming the kinds there are."""
    known = _connectors()
    try:
        return known[kind]
    except KeyError:
        raise UnknownDestination(kind, sorted(known)) from None

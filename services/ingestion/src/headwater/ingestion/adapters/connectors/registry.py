"""The source connectors by kind: the one place that knows which systems Headwater reads from."""

from __future__ import annotations

from headwater.ingestion.adapters.connectors.mysql import MySQLSource
from headwater.ingestion.adapters.connectors.postgres import PostgresSource
from headwater.ingestion.domain.connectors import Source


class UnknownConnector(LookupError):
    """A connector kind no registry holds (the message lists the known ones)."""

    def __init__(self, role: str, kind: str, known: list[str]) -> None:
        super().__init__(f"no {role} connector of kind {kind!r}; known kinds: {', '.join(sorted(known))}")
        self.kind = kind
        self.known = sorted(known)


def sources() -> dict[str, Source]:
    """Every source connector by kind (fresh instances: connectors hold no state between calls)."""
    connectors: list[Source] = [PostgresSource(), MySQLSource()]
    return {c.kind: c for c in connectors}


def source(kind: str) -> Source:
    """The source connector of `kind`, or `UnknownConnector`."""
    found = sources()
    try:
        return found[kind]
    except KeyError:
        raise UnknownConnector("source", kind, list(found)) from None

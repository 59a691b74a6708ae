"""Every connector the service offers, as the use cases' `Connectors` port sees them: the source registry and
the destination registry behind one object, built once with the operator's limits."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from headwater.ingestion.adapters.connectors.registry import sources
from headwater.ingestion.adapters.connectors.registry_destinations import destinations
from headwater.ingestion.domain.connectors import Destination, Source


class ConnectorCatalog:
    def __init__(self, *, local_roots: Sequence[Path] = (), allow_hosts: Sequence[str] = ()) -> None:
        self._sources = sources(local_roots=local_roots, allow_hosts=allow_hosts)
        self._destinations = destinations()

    def sources(self) -> dict[str, Source]:
        return self._sources

    def destinations(self) -> dict[str, Destination]:
        return self._destinations

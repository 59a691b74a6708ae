"""The source connectors by kind: the one place that knows which systems Headwater reads from."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from headwater.ingestion.adapters.connectors.files import FilesSource
from headwater.ingestion.adapters.connectors.http_api import HttpApiSource
from headwater.ingestion.adapters.connectors.mongodb import MongoSource
from headwater.ingestion.adapters.connectors.mysql import MySQLSource
from headwater.ingestion.adapters.connectors.oracle import OracleSource
from headwater.ingestion.adapters.connectors.postgres import PostgresSource
from headwater.ingestion.adapters.connectors.sftp import SftpSource
from headwater.ingestion.domain.connectors import Source


class UnknownConnector(LookupError):
    """A connector kind no registry holds (the message lists the known ones)."""

    def __init__(self, role: str, kind: str, known: list[str]) -> None:
        super().__init__(f"no {role} connector of kind {kind!r}; known kinds: {', '.join(sorted(known))}")
        self.kind = kind
        self.known = sorted(known)


def sources(*, local_roots: Sequence[Path] = (), allow_hosts: Sequence[str] = ()) -> dict[str, Source]:
    """Every source connector by kind (fresh instances: connectors hold no state between calls).

    `local_roots`: the folders of this machine the `files` source may read (none by default: a configuration
    must not read the server's own disk; the service passes its own local store, tests a temporary folder).
    `allow_hosts`: private or loopback hosts the `http_api` source may call (none by default)."""
    connectors: list[Source] = [
        PostgresSource(),
        MySQLSource(),
        FilesSource(local_roots),
        SftpSource(),
        HttpApiSource(allow_hosts),
        MongoSource(),
        OracleSource(),
    ]
    return {c.kind: c for c in connectors}


def source(kind: str, *, local_roots: Sequence[Path] = (), allow_hosts: Sequence[str] = ()) -> Source:
    """The source connector of `kind`, or `UnknownConnector`."""
    found = sources(local_roots=local_roots, allow_hosts=allow_hosts)
    try:
        return found[kind]
    except KeyError:
        raise UnknownConnector("source", kind, list(found)) from None

"""`python -m headwater.ingestion migrate|serve|worker|call`."""

from __future__ import annotations

import sys

from headwater.common.cli import service_main
from headwater.ingestion import SERVICE


def main(argv: list[str] | None = None) -> int:
    return service_main(SERVICE, argv, worker_does="file ingestion, sensors, syncs and the outbox relay")


if __name__ == "__main__":
    sys.exit(main())

"""`python -m headwater.quality_alerting migrate|serve|worker`."""

from __future__ import annotations

import sys

from headwater.common.cli import service_main
from headwater.quality_alerting import SERVICE


def main(argv: list[str] | None = None) -> int:
    return service_main(
        SERVICE,
        argv,
        worker_does="the Kafka subscribers, the notifier and the outbox relay",
    )


if __name__ == "__main__":
    sys.exit(main())

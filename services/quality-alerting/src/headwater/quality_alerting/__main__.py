"""`python -m headwater.quality_alerting migrate|serve|worker|call`."""

from __future__ import annotations

import sys
from typing import Any

from headwater.common.cli import service_main
from headwater.quality_alerting import SERVICE


def invalid_webhook_allow(settings: Any) -> str | None:
    """Fail at start-up, naming the setting, rather than at the first notification."""
    from headwater.quality_alerting.adapters.destinations import Destinations

    try:
        Destinations.parse(settings.webhook_allow)
    except ValueError as exc:
        return f"HEADWATER_QUALITY_ALERTING_WEBHOOK_ALLOW: {exc}"
    return None


def main(argv: list[str] | None = None) -> int:
    return service_main(
        SERVICE,
        argv,
        worker_does="the Kafka subscribers, the notifier and the outbox relay",
        check=invalid_webhook_allow,
    )


if __name__ == "__main__":
    sys.exit(main())

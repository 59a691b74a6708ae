"""`python -m headwater.scheduler migrate|serve|worker`."""

from __future__ import annotations

import sys
from typing import Any

from headwater.common.cli import service_main
from headwater.scheduler import SERVICE


def invalid_schedules(settings: Any) -> str | None:
    """Fail at start-up, naming the setting, rather than at the first firing."""
    from headwater.scheduler.domain.schedules import InvalidSchedule, system_schedules

    try:
        system_schedules(settings)
    except InvalidSchedule as exc:
        return str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    return service_main(
        SERVICE,
        argv,
        worker_does="the schedule loop and the outbox relay",
        check=invalid_schedules,
    )


if __name__ == "__main__":
    sys.exit(main())

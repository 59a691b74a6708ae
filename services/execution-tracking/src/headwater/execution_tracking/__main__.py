"""`python -m headwater.execution_tracking migrate|serve|worker`."""

from __future__ import annotations

import sys

from headwater.common.cli import service_main
from headwater.execution_tracking import SERVICE


def main(argv: list[str] | None = None) -> int:
    return service_main(SERVICE, argv)


if __name__ == "__main__":
    sys.exit(main())

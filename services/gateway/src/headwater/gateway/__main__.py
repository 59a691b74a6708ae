"""`python -m headwater.gateway serve`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the public HTTP API")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from headwater.common.serve import serve
        from headwater.gateway.bootstrap import load

        settings = load()
        serve(
            "headwater.gateway.app:create_app",
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.http_workers,
        )
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())

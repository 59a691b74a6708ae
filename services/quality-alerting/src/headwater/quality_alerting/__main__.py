"""`python -m headwater.quality_alerting migrate|serve|worker`."""

from __future__ import annotations

import argparse
import asyncio
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.quality_alerting")
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser("migrate", help="upgrade (or --downgrade) the quality_alerting schema")
    mig.add_argument("--revision", default=None)
    mig.add_argument("--downgrade", action="store_true")
    sub.add_parser("serve", help="serve the internal HTTP API")
    sub.add_parser("worker", help="run the Kafka subscribers, the notifier and the outbox relay")
    args = parser.parse_args(argv)

    from headwater.quality_alerting.bootstrap import load

    settings = load()
    if args.command == "migrate":
        from headwater.common.logging import configure_logging
        from headwater.quality_alerting import SERVICE
        from headwater.quality_alerting.adapters.db.migrate import migrate

        configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
        revision = args.revision or ("base" if args.downgrade else "head")
        asyncio.run(migrate(settings.database_url, revision, downgrade=args.downgrade))
        return 0
    if args.command == "serve":
        from headwater.common.serve import serve

        serve(
            "headwater.quality_alerting.entrypoints.http.app:create_app",
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.http_workers,
        )
        return 0
    if args.command == "worker":
        from headwater.quality_alerting.entrypoints.messaging.worker import run_worker

        asyncio.run(run_worker())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())

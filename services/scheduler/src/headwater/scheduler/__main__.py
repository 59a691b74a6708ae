"""`python -m headwater.scheduler migrate|serve|worker`."""

from __future__ import annotations

import argparse
import asyncio
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.scheduler")
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser("migrate", help="upgrade (or --downgrade) the scheduler schema")
    mig.add_argument("--revision", default=None)
    mig.add_argument("--downgrade", action="store_true")
    sub.add_parser("serve", help="serve the internal HTTP API")
    sub.add_parser("worker", help="run the Kafka subscribers, the schedule loop and the outbox relay")
    args = parser.parse_args(argv)

    from headwater.scheduler.bootstrap import load
    from headwater.scheduler.domain.schedules import InvalidSchedule, system_schedules

    settings = load()
    try:
        system_schedules(settings)  # fail at start-up, naming the setting, rather than at the first firing
    except InvalidSchedule as exc:
        print(f"headwater.scheduler: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        from headwater.common.logging import configure_logging
        from headwater.scheduler import SERVICE
        from headwater.scheduler.adapters.db.migrate import migrate

        configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
        revision = args.revision or ("base" if args.downgrade else "head")
        asyncio.run(migrate(settings.database_url, revision, downgrade=args.downgrade))
        return 0
    if args.command == "serve":
        from headwater.common.serve import serve

        serve(
            "headwater.scheduler.entrypoints.http.app:create_app",
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.http_workers,
        )
        return 0
    if args.command == "worker":
        from headwater.scheduler.entrypoints.messaging.worker import run_worker

        asyncio.run(run_worker())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())

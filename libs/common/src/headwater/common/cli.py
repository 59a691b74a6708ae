"""`python -m headwater.<service> migrate|serve|worker`: the command line every schema-owning service shares."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any

from headwater.common.settings import SettingsError, load_settings


def service_main(
    service: str,
    argv: list[str] | None = None,
    *,
    worker_does: str = "the Kafka subscribers and the outbox relay",
    check: Callable[[Any], str | None] | None = None,
) -> int:
    """Parse the command and run it with the settings of the service's package, `headwater.<service>` in snake
    case (e.g. `headwater.quality_alerting` for `quality-alerting`).

    `migrate` upgrades (or `--downgrade`s) the service's schema as its own role; `serve` runs the internal HTTP
    API (`<package>.entrypoints.http.app:create_app`); `worker` runs `<package>.entrypoints.messaging.worker`.
    `check(settings)` may return a reason the configuration is unusable: the command then exits with 2.
    """
    schema = service.replace("-", "_")
    package = f"headwater.{schema}"
    parser = argparse.ArgumentParser(prog=f"python -m {package}")
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser("migrate", help=f"upgrade (or --downgrade) the {schema} schema")
    mig.add_argument("--revision", default=None)
    mig.add_argument("--downgrade", action="store_true")
    sub.add_parser("serve", help="serve the internal HTTP API")
    sub.add_parser("worker", help=f"run {worker_does}")
    args = parser.parse_args(argv)

    try:
        settings = load_settings(import_module(f"{package}.settings").Settings, service)
    except SettingsError as exc:
        print(f"{package}: invalid configuration: {exc}", file=sys.stderr)
        return 2
    problem = check(settings) if check else None
    if problem:
        print(f"{package}: invalid configuration: {problem}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        from headwater.common.logging import configure_logging

        configure_logging(service, level=settings.log_level, json=settings.log_json)
        from headwater.common.service import migrate_service

        revision = args.revision or ("base" if args.downgrade else "head")
        asyncio.run(migrate_service(package, settings.database_url, revision, downgrade=args.downgrade))
        return 0
    if args.command == "serve":
        from headwater.common.serve import serve

        serve(
            f"{package}.entrypoints.http.app:create_app",
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.http_workers,
        )
        return 0
    if args.command == "worker":
        run_worker = import_module(f"{package}.entrypoints.messaging.worker").run_worker
        asyncio.run(run_worker())
        return 0
    return 2

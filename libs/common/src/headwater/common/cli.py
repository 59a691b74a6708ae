"""`python -m headwater.<service> migrate|serve|worker`: the command line every schema-owning service shares."""

from __future__ import annotations

import argparse
import asyncio
import sys
import urllib.request
from collections.abc import Callable
from importlib import import_module
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote

from headwater.common.principal import SYSTEM, PrincipalSigner
from headwater.common.settings import (
    ServiceSettings,
    SettingsError,
    internal_signing_problem,
    load_settings,
)


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
    API (`<package>.entrypoints.http.app:create_app`); `worker` runs `<package>.entrypoints.messaging.worker`;
    `call` calls the running internal API as `SYSTEM`, signed with the internal key (the operator's way in).
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
    call = sub.add_parser(
        "call",
        help="call the internal API as SYSTEM, signed with HEADWATER_INTERNAL_SIGNING_KEY; prints the answer",
    )
    call.add_argument("method", help="GET, POST, PATCH, PUT or DELETE")
    call.add_argument("target", help="path and query as sent, e.g. '/pipeline?limit=5'")
    call.add_argument("--data", default=None, help="a JSON body")
    call.add_argument("--url", default=None, help="the service's base URL (default: its HTTP host and port)")
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
    if args.command == "call":
        return call_service(settings, args.method, args.target, data=args.data, base_url=args.url)
    if args.command == "serve":
        if problem := internal_signing_problem(settings):
            print(f"{package}: invalid configuration: {problem}", file=sys.stderr)
            return 2
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


def call_service(
    settings: ServiceSettings, method: str, target: str, *, data: str | None, base_url: str | None
) -> int:
    """Call the service's internal API (`target`: path and query, URL-encoded as sent) as `SYSTEM`: the status
    goes to stderr, the body to stdout; exits 0 on 2xx/3xx, 1 on an error answer, 2 when nothing answered or
    the key is unusable."""
    if problem := internal_signing_problem(settings):
        print(f"invalid configuration: {problem}", file=sys.stderr)
        return 2
    method = method.upper()
    path, _, query = target.partition("?")
    headers = PrincipalSigner(settings.internal_signing_key).headers(SYSTEM, method, unquote(path), query)
    if data is not None:
        headers["content-type"] = "application/json"
    host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "::", "") else settings.http_host
    url = (base_url or f"http://{host}:{settings.http_port}").rstrip("/") + target
    request = urllib.request.Request(
        url, data=None if data is None else data.encode(), headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, body = resp.status, resp.read()
    except HTTPError as exc:
        status, body = exc.code, exc.read()
    except (URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 2
    print(status, file=sys.stderr)
    sys.stdout.write(body.decode("utf-8", "replace") + ("\n" if body and not body.endswith(b"\n") else ""))
    return 0 if status < 400 else 1

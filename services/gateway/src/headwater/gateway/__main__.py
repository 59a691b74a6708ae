"""`python -m headwater.gateway migrate|serve|bootstrap|create-user|set-password`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from headwater.common.principal import ROLES
from headwater.common.settings import SettingsError


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty():
        return getpass.getpass("password (empty: generate one): ") or None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headwater.gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the public HTTP API")
    mig = sub.add_parser("migrate", help="upgrade (or --downgrade) the gateway schema")
    mig.add_argument("--revision", default=None)
    mig.add_argument("--downgrade", action="store_true")
    sub.add_parser(
        "bootstrap",
        help="make sure the bootstrap superuser (HEADWATER_ADMIN_*) and HEADWATER_BOOTSTRAP_TOKEN exist",
    )
    create = sub.add_parser(
        "create-user", help="create a user (prints a generated password if none is given)"
    )
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--role", choices=ROLES, default="superuser")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    reset = sub.add_parser(
        "set-password", help="set a user's password (prints a generated one if none given)"
    )
    reset.add_argument("--username", required=True)
    reset.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    args = parser.parse_args(argv)

    from headwater.gateway.bootstrap import load
    from headwater.gateway.settings import problems

    try:
        settings = load()
    except SettingsError as exc:
        print(f"headwater.gateway: invalid configuration: {exc}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        from headwater.common.logging import configure_logging
        from headwater.common.service import migrate_service
        from headwater.gateway import SERVICE

        configure_logging(SERVICE, level=settings.log_level, json=settings.log_json)
        revision = args.revision or ("base" if args.downgrade else "head")
        asyncio.run(
            migrate_service("headwater.gateway", settings.database_url, revision, downgrade=args.downgrade)
        )
        return 0
    if problem := problems(settings):
        print(f"headwater.gateway: invalid configuration: {problem}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from headwater.common.serve import serve
        from headwater.common.settings import internal_signing_problem

        if problem := internal_signing_problem(settings):  # only `serve` calls the services
            print(f"headwater.gateway: invalid configuration: {problem}", file=sys.stderr)
            return 2

        serve(
            "headwater.gateway.app:create_app",
            host=settings.http_host,
            port=settings.http_port,
            workers=settings.http_workers,
        )
        return 0
    from headwater.gateway import admin

    if args.command == "bootstrap":
        return asyncio.run(admin.bootstrap(settings))
    if args.command == "create-user":
        password = _password(args.password_stdin)
        return asyncio.run(admin.create_user(settings, args.username, args.email, args.role, password))
    if args.command == "set-password":
        return asyncio.run(admin.set_password(settings, args.username, _password(args.password_stdin)))
    return 2


if __name__ == "__main__":
    sys.exit(main())

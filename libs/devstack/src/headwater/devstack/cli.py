"""`headwater-dev up|down|status|logs`: the commands behind `make up`, `make down` and `make logs`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from headwater.devstack.stack import Stack, StackConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="headwater-dev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start Postgres, the broker, migrations and every service in the background")
    sub.add_parser("down", help="stop every service, the broker and Postgres (data is kept)")
    sub.add_parser("status", help="say what runs")
    logs = sub.add_parser("logs", help="follow the logs of every process")
    logs.add_argument("--no-follow", action="store_true")
    args = parser.parse_args(argv)

    stack = Stack(StackConfig.from_env())
    if args.command == "up":
        if stack.is_running():
            print(f"Headwater is already running: gateway at {stack.gateway_url} (stop it with `make down`).")
            return 0
        started = time.monotonic()
        try:
            print("Starting embedded Postgres and the tansu broker ...", flush=True)
            stack.start_infrastructure()
            print("Creating roles, topics and running migrations ...", flush=True)
            stack.provision()
            for line in stack.bootstrap_identity():
                print(line, flush=True)
            print("Starting services ...", flush=True)
            stack.start_services()
            stack.wait_ready()
        except (OSError, RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", None) or ""
            print(f"Headwater did not start: {exc}\n{detail}".rstrip(), file=sys.stderr)
            stack.stop_services()
            return 1
        print(f"Headwater is up in {time.monotonic() - started:.1f}s.")
        print(f"Gateway: {stack.gateway_url}   (API docs: {stack.gateway_url}/schema/swagger)")
        print(
            "Log in: POST /login (cookie), POST /token (access token) or an API token from POST /api/v1/tokens; "
            "README: Logging in."
        )
        print(f"Kafka bootstrap: {stack.kafka_bootstrap}   Postgres: 127.0.0.1:{stack.config.postgres_port}")
        print(f"Logs: `make logs` (files in {stack.logs}); stop with `make down`.")
        return 0
    if args.command == "down":
        stack.down()
        print("Headwater stopped; data kept in", stack.config.state_dir)
        return 0
    if args.command == "status":
        print("running" if stack.is_running() else "stopped", stack.gateway_url)
        return 0 if stack.is_running() else 3
    if args.command == "logs":
        files = sorted(str(p) for p in stack.logs.glob("*.log"))
        if not files:
            print("no logs yet: run `make up` first", file=sys.stderr)
            return 1
        tail = ["tail", "-n", "50", *([] if args.no_follow else ["-F"]), *files]
        os.execvp("tail", tail)
    return 2


if __name__ == "__main__":
    sys.exit(main())

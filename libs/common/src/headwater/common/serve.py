"""Serve a Litestar app factory with granian (Rust HTTP server, one or more worker processes)."""

from __future__ import annotations

import os
import sys


def serve(factory: str, *, host: str, port: int, workers: int = 1) -> None:
    """Replace this process by granian serving `factory` ("module:function"); SIGTERM stops it cleanly."""
    argv = [
        "granian",
        "--interface",
        "asgi",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "2048",
        "--workers-kill-timeout",
        "10",
        factory,
    ]
    exe = os.path.join(os.path.dirname(sys.executable), "granian")
    os.execv(exe if os.path.exists(exe) else "granian", argv)

"""Which paths are OLake's (its envelope, its cookie rule): the login paths and everything under a project."""

from __future__ import annotations

OLAKE_PATHS = frozenset({"/login", "/signup", "/auth", "/auth/check", "/logout", "/telemetry-id"})
OLAKE_PREFIX = "/api/v1/project/"


def is_olake(path: str) -> bool:
    return path in OLAKE_PATHS or path.startswith(OLAKE_PREFIX)

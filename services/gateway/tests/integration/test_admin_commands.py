"""The operator's commands: `create-user` and `set-password` print a generated password once (or take one on
stdin), `bootstrap` is idempotent; the accounts they make log in."""

from __future__ import annotations

import subprocess
import sys
import uuid

import asyncpg
import pytest

from headwater.devstack.stack import Stack
from headwater.gateway.bootstrap import identity_for
from headwater.gateway.identity import credentials

from ..conftest import gateway_settings

pytestmark = pytest.mark.integration


def command(
    stack: Stack, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headwater.gateway", *args],
        env={**stack.service_env(), **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


async def logs_in(stack: Stack, login: str, password: str) -> bool:
    identity, engine = identity_for(gateway_settings(stack))
    try:
        await identity.logins.check_password(login, password, "127.0.0.1")
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


async def test_create_user_then_set_password(stack: Stack) -> None:
    name = f"ops-{uuid.uuid4().hex[:6]}"
    made = command(
        stack, "create-user", "--username", name, "--email", f"{name}@example.com", "--role", "editor"
    )
    assert made.returncode == 0, made.stderr
    (line,) = [x for x in made.stdout.splitlines() if x.startswith(f"one-time password of '{name}': ")]
    generated = line.split(": ", 1)[1].split()[0]
    assert await logs_in(stack, name, generated)

    again = command(stack, "create-user", "--username", name, "--email", f"{name}@example.com")
    assert again.returncode == 1
    assert "already exists" in again.stderr

    reset = command(
        stack, "set-password", "--username", name, "--password-stdin", stdin="a chosen password\n"
    )
    assert reset.returncode == 0, reset.stderr
    assert "one-time password" not in reset.stdout
    assert await logs_in(stack, name, "a chosen password")
    assert not await logs_in(stack, name, generated)
    short = command(stack, "set-password", "--username", name, "--password-stdin", stdin="short\n")
    assert short.returncode == 1
    assert "at least 8 characters" in short.stderr
    assert command(stack, "set-password", "--username", "nobody-at-all").returncode == 1


async def test_bootstrap_is_idempotent_and_checks_its_settings(stack: Stack) -> None:
    first = command(stack, "bootstrap")  # the session's superuser and token exist already
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    bad = command(stack, "bootstrap", HEADWATER_BOOTSTRAP_TOKEN="short")
    assert bad.returncode == 2
    assert "HEADWATER_BOOTSTRAP_TOKEN must be at least 20 characters" in bad.stderr
    keyless = command(stack, "serve", HEADWATER_GATEWAY_SIGNING_KEY="too short")
    assert keyless.returncode == 2
    assert "HEADWATER_GATEWAY_SIGNING_KEY" in keyless.stderr
    published = command(
        stack,
        "serve",
        HEADWATER_GATEWAY_SIGNING_KEY="development-only-insecure-signing-key-do-not-use",
        HEADWATER_ENVIRONMENT="production",
    )
    assert published.returncode == 2
    assert "published development key" in published.stderr


async def test_bootstrap_says_when_its_token_no_longer_works(stack: Stack) -> None:
    token = f"hw_bootstrap_{uuid.uuid4().hex}"
    made = command(stack, "bootstrap", HEADWATER_BOOTSTRAP_TOKEN=token)
    assert made.returncode == 0, made.stderr
    assert "created the bootstrap API token" in made.stdout
    assert "warning" not in command(stack, "bootstrap", HEADWATER_BOOTSTRAP_TOKEN=token).stdout
    conn = await asyncpg.connect(stack.service_dsn("gateway"))
    try:  # e.g. revoked by a password change of its owner
        await conn.execute(
            "UPDATE gateway.api_token SET revoked_at = now() WHERE token_hash = $1", credentials.digest(token)
        )
    finally:
        await conn.close()
    revoked = command(stack, "bootstrap", HEADWATER_BOOTSTRAP_TOKEN=token)
    assert revoked.returncode == 0, revoked.stderr
    assert "HEADWATER_BOOTSTRAP_TOKEN was revoked or has expired" in revoked.stdout

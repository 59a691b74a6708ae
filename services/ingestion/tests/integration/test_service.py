"""The ingestion service as the others run it: probes and metrics open, every other call signed, the worker's
command and the warehouse database the embedded stack provisions."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from headwater.common.settings import load_settings
from headwater.devstack.stack import Stack
from headwater.ingestion import SERVICE
from headwater.ingestion.__main__ import main
from headwater.ingestion.settings import Settings

pytestmark = pytest.mark.integration


async def test_probes_and_metrics_answer_without_a_signature(client: AsyncTestClient[Litestar]) -> None:
    client.auth = httpx.Auth()  # no signature
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).status_code == 200
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "http_request" in metrics.text or "python_info" in metrics.text


async def test_an_unsigned_call_is_refused(client: AsyncTestClient[Litestar]) -> None:
    client.auth = httpx.Auth()  # no signature
    r = await client.get("/datasets")
    assert r.status_code == 401
    assert "only the gateway may call" in r.json()["detail"]


async def test_the_warehouse_database_belongs_to_the_ingestion_role(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.warehouse_dsn)
    try:
        assert await conn.fetchval("SELECT current_database()") == "warehouse"
        await conn.execute("CREATE SCHEMA IF NOT EXISTS probe_of_ownership")
        await conn.execute("DROP SCHEMA probe_of_ownership")
    finally:
        await conn.close()


def test_settings_default_to_the_state_folder_and_the_warehouse() -> None:
    settings = load_settings(Settings, SERVICE, {})
    assert settings.object_store_url == "file://.headwater/objects"
    assert settings.warehouse_dsn.endswith("/warehouse")
    assert settings.http_port == 8084
    overridden = load_settings(Settings, SERVICE, {"HEADWATER_INGESTION_OBJECT_STORE_URL": "s3://bucket/x"})
    assert overridden.object_store_url == "s3://bucket/x"


def test_the_command_line_offers_the_commands_of_every_service(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("migrate", "serve", "worker", "call"):
        assert command in out

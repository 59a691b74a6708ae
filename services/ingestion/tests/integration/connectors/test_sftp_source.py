"""The SFTP source on a real SFTP server (asyncssh, started by the test): logins by password and by key, the host
key checked, check's answers (wrong password, closed port, missing folder, another host key), streams, reads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from headwater.ingestion.adapters.connectors.registry import source
from headwater.ingestion.domain.connectors import CheckFailed, ReadBatch, ReadRequest, Stream, SyncMode
from headwater.ingestion.testing import free_port
from headwater.ingestion.testing_sources import SftpServer, sftp_server

pytestmark = pytest.mark.integration

SFTP = source("sftp")
OTHER_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBqB7k7gQ0v9u2b3r1m1l0fQyJ3vD8tq1pY3o6d7m2aL"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[SftpServer]:
    files = {
        "exports/orders/2024-01.csv": b"id,amount\n1,9.50\n2,3.25\n",
        "exports/orders/2024-02.csv": b"id,amount\n3,1.00\n",
        "exports/events/e.jsonl": b'{"k": "a"}\n',
        "exports/skip.md": b"not data",
    }
    for n, (key, data) in enumerate(files.items()):
        path = tmp_path / "root" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))
    async with sftp_server(tmp_path / "root") as running:
        yield running


async def reason_of(cfg: dict[str, Any]) -> str:
    with pytest.raises(CheckFailed) as failed:
        await SFTP.check(cfg)
    assert failed.value.message
    assert "sftp-secret" not in failed.value.message
    return failed.value.reason


async def read_all(cfg: dict[str, Any], request: ReadRequest) -> list[ReadBatch]:
    return [b async for b in SFTP.read(cfg, request)]


async def test_check_logs_in_and_says_what_is_wrong(server: SftpServer) -> None:
    await SFTP.check(server.config("/exports"))
    await SFTP.check(server.config("/exports", host_key=server.host_key))
    by_key = {**server.config("/exports", private_key=server.client_key), "password": ""}
    await SFTP.check(by_key)
    assert await reason_of(server.config("/exports", password="wrong")) == "bad_credentials"
    assert await reason_of(server.config("/exports", port=free_port())) == "connection_refused"
    assert await reason_of(server.config("/exports", host="no-such-host.invalid")) == "unreachable_host"
    assert await reason_of(server.config("/nowhere")) == "not_found"
    assert await reason_of(server.config("/exports", host_key=OTHER_HOST_KEY)) == "host_key_mismatch"
    assert await reason_of({**server.config("/exports"), "password": ""}) == "invalid_config"
    assert SFTP.spec()["properties"]["private_key"]["secret"] is True


async def test_streams_and_reads(server: SftpServer, tmp_path: Path) -> None:
    cfg = server.config("/exports")
    streams = {s.name: s for s in await SFTP.discover(cfg)}
    assert set(streams) == {"orders", "events"}
    assert [c.name for c in streams["orders"].columns] == ["id", "amount"]
    orders = Stream(namespace=None, name="orders", columns=())
    rows = [r for b in await read_all(cfg, ReadRequest(stream=orders)) for r in b.records.to_pylist()]
    assert rows == [
        {"id": "1", "amount": "9.50"},
        {"id": "2", "amount": "3.25"},
        {"id": "3", "amount": "1.00"},
    ]

    first = await read_all(cfg, ReadRequest(stream=orders, sync_mode=SyncMode.INCREMENTAL))
    state = first[-1].state
    assert state is not None
    assert state["key"] == "orders/2024-02.csv"
    added = tmp_path / "root/exports/orders/2024-03.csv"
    added.write_bytes(b"id,amount\n4,7.00\n")
    os.utime(added, (1_800_000_000, 1_800_000_000))
    new = await read_all(cfg, ReadRequest(stream=orders, sync_mode=SyncMode.INCREMENTAL, state=state))
    assert [r for b in new for r in b.records.to_pylist()] == [{"id": "4", "amount": "7.00"}]

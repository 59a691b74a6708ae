"""Files on an SFTP server as a source (asyncssh): the files source's streams, formats and state, over SSH.

The folder `path` on the server is the root: each first-level folder under it is a stream, files directly in it
form the stream `root` (see `files`). A password or a private key (OpenSSH or PEM text) logs in. The server's
host key is checked when the configuration gives one (`host_key`, as in a known_hosts line: `ssh-ed25519 AAAA...`);
without it any key is accepted, as a first connection with `StrictHostKeyChecking=no` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import posixpath
import socket
import stat
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from pathlib import Path
from typing import Annotated, Any

import asyncssh
from msgspec import Meta

from headwater.common.logging import get_logger
from headwater.ingestion.adapters.connectors.common import (
    CHECK_TIMEOUT_SECONDS,
    SOURCE_READ_FAILURES,
    checking,
    config_spec,
    masked_repr,
    parse_config,
)
from headwater.ingestion.adapters.connectors.files import (
    MAX_FILES,
    FileOptions,
    discover_files,
    is_data_file,
    read_files,
    too_many,
)
from headwater.ingestion.adapters.storage import ObjectInfo
from headwater.ingestion.domain.connectors import CheckFailed, ReadBatch, ReadRequest, Stream

log = get_logger(__name__)

KIND = "sftp"
_SECRET = {"format": "password", "secret": True}


class SftpConfig(FileOptions, frozen=True, kw_only=True):
    host: Annotated[str, Meta(min_length=1, max_length=253, title="Host")]
    port: Annotated[int, Meta(ge=1, le=65535, title="Port")] = 22
    username: Annotated[str, Meta(min_length=1, max_length=255, title="Username")]
    password: Annotated[str, Meta(max_length=1024, title="Password", extra_json_schema=_SECRET)] = ""
    private_key: Annotated[
        str,
        Meta(max_length=32_768, title="Private key (OpenSSH or PEM text)", extra_json_schema=_SECRET),
    ] = ""
    host_key: Annotated[
        str,
        Meta(max_length=16_384, title="Host key", description="The server's public key, to check it"),
    ] = ""
    path: Annotated[
        str, Meta(min_length=1, max_length=4096, title="Folder", description="The root folder")
    ] = "."

    def __repr__(self) -> str:
        return masked_repr(self)


@contextlib.asynccontextmanager
async def sftp_session(cfg: SftpConfig) -> AsyncGenerator[asyncssh.SFTPClient]:
    """An SFTP session, or `CheckFailed` saying what stopped it (no secret appears in a message)."""
    where = f"{cfg.host}:{cfg.port}"
    keys: list[asyncssh.SSHKey] = []
    if cfg.private_key:
        try:
            keys.append(asyncssh.import_private_key(cfg.private_key))
        except (asyncssh.KeyImportError, ValueError):
            raise CheckFailed(
                "invalid_config", "the private key is not an OpenSSH or PEM private key"
            ) from None
    if not keys and not cfg.password:
        raise CheckFailed("invalid_config", "give a password or a private key")
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            conn = await asyncssh.connect(
                cfg.host,
                port=cfg.port,
                username=cfg.username,
                password=cfg.password or None,
                client_keys=keys or None,
                known_hosts=None,
                agent_path=None,
                preferred_auth="publickey,password" if keys else "password",
                connect_timeout=CHECK_TIMEOUT_SECONDS,
            )
    except TimeoutError:
        raise CheckFailed("timeout", f"{where} did not answer within {CHECK_TIMEOUT_SECONDS:.0f} s") from None
    except socket.gaierror:
        raise CheckFailed("unreachable_host", f"the host name {cfg.host!r} does not resolve") from None
    except ConnectionRefusedError:
        raise CheckFailed(
            "connection_refused", f"{where} refused the connection: is SSH listening there?"
        ) from None
    except asyncssh.PermissionDenied:
        raise CheckFailed("bad_credentials", f"{where} refused the login of {cfg.username!r}") from None
    except (asyncssh.Error, OSError) as e:
        raise CheckFailed("connection_failed", f"the SSH connection to {where} failed: {e}") from None
    try:
        if cfg.host_key:
            _verify_host_key(conn, cfg.host_key, where)
        try:
            async with conn.start_sftp_client() as sftp:
                yield sftp
        except asyncssh.ChannelOpenError as e:
            raise CheckFailed("connection_failed", f"{where} offers no SFTP: {e}") from None
    finally:
        conn.close()


def _verify_host_key(conn: asyncssh.SSHClientConnection, expected: str, where: str) -> None:
    try:
        wanted = asyncssh.import_public_key(expected.strip())
    except (asyncssh.KeyImportError, ValueError):
        raise CheckFailed(
            "invalid_config", "the host key is not a public key (`ssh-ed25519 AAAA...`)"
        ) from None
    got = conn.get_server_host_key()
    if got is None or got.public_data != wanted.public_data:
        raise CheckFailed(
            "host_key_mismatch",
            f"{where} showed another host key than the one configured: it may not be that server",
        )


class _SftpTree:
    def __init__(self, sftp: asyncssh.SFTPClient, root: str, where: str) -> None:
        self._sftp = sftp
        self._root = root
        self.where = where

    async def list_files(self) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        try:
            if not await self._sftp.isdir(self._root):
                raise CheckFailed("not_found", f"no folder {self._root!r} on {self.where}")
            await self._walk("", found)
        except asyncssh.SFTPPermissionDenied:
            raise CheckFailed(
                "permission_denied", f"the folder {self._root!r} of {self.where} may not be listed"
            ) from None
        except asyncssh.SFTPError as e:
            raise CheckFailed("read_failed", f"listing {self._root!r} on {self.where} failed: {e}") from None
        return found

    async def _walk(self, relative: str, found: list[ObjectInfo]) -> None:
        folder = posixpath.join(self._root, relative) if relative else self._root
        for entry in await self._sftp.readdir(folder):
            name = str(entry.filename)
            if name in (".", "..") or name.startswith("."):
                continue
            key = f"{relative}/{name}" if relative else name
            mode = entry.attrs.permissions or 0
            if stat.S_ISDIR(mode):
                await self._walk(key, found)
            elif stat.S_ISREG(mode) and is_data_file(key):
                modified = dt.datetime.fromtimestamp(entry.attrs.mtime or 0, dt.UTC)
                found.append(ObjectInfo(key=key, size=entry.attrs.size or 0, last_modified=modified))
                if len(found) > MAX_FILES:
                    raise too_many(self.where)

    async def fetch(self, key: str, path: Path) -> bool:
        try:
            await self._sftp.get(posixpath.join(self._root, key), str(path))
        except asyncssh.SFTPNoSuchFile:
            return False
        except asyncssh.SFTPError as e:
            SOURCE_READ_FAILURES.labels(KIND).inc()
            raise CheckFailed("read_failed", f"fetching {key} from {self.where} failed: {e}") from None
        return True


class SftpSource:
    kind = KIND

    def spec(self) -> dict[str, Any]:
        return config_spec(
            SftpConfig,
            title="SFTP",
            description="CSV, TSV, JSON lines and Parquet files on an SFTP server; one stream per first-level folder",
        )

    async def check(self, config: Mapping[str, Any]) -> None:
        cfg = parse_config(config, SftpConfig)
        async with checking(KIND, f"{cfg.host}:{cfg.port}"):
            async with sftp_session(cfg) as sftp:
                files = await _SftpTree(sftp, cfg.path, f"{cfg.host}:{cfg.port}").list_files()
            if not files:
                raise CheckFailed("not_found", f"no CSV, JSON lines or Parquet files under {cfg.path!r}")

    async def discover(self, config: Mapping[str, Any]) -> list[Stream]:
        cfg = parse_config(config, SftpConfig)
        async with sftp_session(cfg) as sftp:
            return await discover_files(_SftpTree(sftp, cfg.path, f"{cfg.host}:{cfg.port}"), cfg)

    async def read(self, config: Mapping[str, Any], request: ReadRequest) -> AsyncIterator[ReadBatch]:
        cfg = parse_config(config, SftpConfig)
        async with sftp_session(cfg) as sftp:
            async for batch in read_files(_SftpTree(sftp, cfg.path, f"{cfg.host}:{cfg.port}"), cfg, request):
                yield batch

"""Test support of the source connectors: a Postgres that checks passwords, a MariaDB server from the machine's
`mariadb-server` package and an SFTP server (asyncssh), each started on a free port and stopped after.

The session's own Postgres trusts every local connection, so a wrong password would pass there; the source
Postgres here asks for scram-sha-256 (the superuser `postgres` alone is trusted, for the tests' set-up), runs with
`wal_level=logical`, and refuses the role `tls_only` on a connection without TLS. (The embedded Postgres build has
no TLS at all, so a TLS handshake itself cannot be tested against it.)
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import cast

import asyncssh
import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from headwater.devstack import procs
from headwater.devstack.postgres import PG_USER, EmbeddedPostgres
from headwater.ingestion.testing import free_port

TLS_ONLY_ROLE = "tls_only"
STARTUP_SECONDS = 60.0


class SourcePostgres(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    admin_dsn: str  # the trusted superuser, for setting up roles and tables

    def config(self, database: str, username: str, password: str, **extra: object) -> dict[str, object]:
        """A Postgres source configuration reaching this server."""
        return {
            "host": self.host,
            "port": self.port,
            "database": database,
            "username": username,
            "password": password,
            **extra,
        }


@contextmanager
def source_postgres(workdir: Path) -> Generator[SourcePostgres]:
    """A Postgres cluster of its own: passwords checked, `tls_only` refused without TLS, logical WAL."""
    pg = EmbeddedPostgres(workdir / "data", free_port(), log_file=workdir / "postgres.log")
    pg.start()
    try:
        (pg.data_dir / "pg_hba.conf").write_text(
            f"host all {PG_USER} 127.0.0.1/32 trust\n"
            f"hostnossl all {TLS_ONLY_ROLE} 127.0.0.1/32 reject\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        with (pg.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write("wal_level = logical\n")  # what CDC needs (a restart applies it)
        pg.stop()
        pg.start()
        yield SourcePostgres(host="127.0.0.1", port=pg.port, admin_dsn=pg.admin_dsn)
    finally:
        pg.stop()


# --- MariaDB -----------------------------------------------------------------------------------------------------


class MariaDB(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    socket: str  # the admin (`root`, no password) connects here

    def config(self, database: str, username: str, password: str, **extra: object) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "database": database,
            "username": username,
            "password": password,
            **extra,
        }


def mariadb_binaries() -> tuple[str, str] | None:
    """(server, install-db) from PATH or the Debian locations, or None when `mariadb-server` is not installed."""
    extra = os.pathsep.join(["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"])
    path = os.environ.get("PATH", "") + os.pathsep + extra
    server = shutil.which("mariadbd", path=path) or shutil.which("mysqld", path=path)
    install = shutil.which("mariadb-install-db", path=path) or shutil.which("mysql_install_db", path=path)
    return (server, install) if server and install else None


MARIADB_MISSING = "mariadb-server is not installed (`apt-get install mariadb-server`, which `make test` runs)"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A fresh self-signed certificate for 127.0.0.1 and its key (PEM files in `folder`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    crt, pem = folder / "server-cert.pem", folder / "server-key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem.chmod(0o600)
    return crt, pem


@contextmanager
def mariadb_server(workdir: Path) -> Generator[MariaDB]:
    """A MariaDB server in `workdir` on a free loopback port, as the current user, serving TLS with a self-signed
    certificate (a client that verifies it fails; one that only encrypts succeeds); stopped after."""
    found = mariadb_binaries()
    if found is None:
        raise FileNotFoundError(MARIADB_MISSING)
    server, install = found
    data = workdir / "mariadb"
    data.mkdir(parents=True, exist_ok=True)
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    port = free_port()
    crt, key = self_signed_certificate(workdir)
    sock = workdir / "mariadb.sock"
    pidfile, logfile = workdir / "mariadb.pid", workdir / "mariadb.log"
    proc = procs.spawn(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={sock}",
            f"--pid-file={workdir / 'mariadbd.pid'}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=64M",
            "--innodb-log-file-size=16M",
            "--max-connections=100",
            f"--ssl-cert={crt}",
            f"--ssl-key={key}",
            *user,
        ],
        pidfile=pidfile,
        logfile=logfile,
    )
    try:
        _wait_for_port(port, proc.pid, logfile)
        yield MariaDB(host="127.0.0.1", port=port, socket=str(sock))
    finally:
        procs.stop(pidfile, timeout=20)
        proc.wait(timeout=20)


def _wait_for_port(port: int, pid: int, logfile: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not procs.pid_alive(pid):
            raise RuntimeError(f"mariadbd exited at start-up:\n{logfile.read_text(errors='replace')[-3000:]}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"mariadbd did not listen within {STARTUP_SECONDS:.0f} s:\n{logfile.read_text()[-3000:]}"
    )


# --- SFTP ----------------------------------------------------------------------------------------------------------


class SftpServer(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    username: str
    password: str
    host_key: str  # the server's public key, as a known_hosts line holds it
    client_key: str  # a private key (OpenSSH text) the server also accepts for `username`

    def config(self, path: str = ".", **extra: object) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "path": path,
            **extra,
        }


class _SftpLogin(asyncssh.SSHServer):
    def __init__(self, username: str, password: str, client_key: asyncssh.SSHKey) -> None:
        self._username, self._password, self._client_key = username, password, client_key

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self._username and password == self._password

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._username and key.public_data == self._client_key.public_data


@asynccontextmanager
async def sftp_server(
    root: Path, username: str = "loader", password: str = "sftp-secret"
) -> AsyncGenerator[SftpServer]:
    """An SFTP server (asyncssh, in this event loop) on a free loopback port, serving `root` as `/`."""
    generate = cast("Callable[[str], asyncssh.SSHKey]", asyncssh.generate_private_key)  # (untyped **kwargs)
    host_key, client_key = generate("ssh-ed25519"), generate("ssh-ed25519")

    def serve_files(chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(chan, chroot=os.fsencode(root))

    server = await asyncssh.create_server(
        lambda: _SftpLogin(username, password, client_key),
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        sftp_factory=serve_files,
    )
    port = int(server.sockets[0].getsockname()[1])
    try:
        yield SftpServer(
            host="127.0.0.1",
            port=port,
            username=username,
            password=password,
            host_key=host_key.export_public_key().decode().strip(),
            client_key=client_key.export_private_key().decode(),
        )
    finally:
        server.close()
        await server.wait_closed()

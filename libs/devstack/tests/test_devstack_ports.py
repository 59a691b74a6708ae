"""The embedded broker refuses a port somebody else already listens on, instead of silently using it."""

import socket
from pathlib import Path

import pytest

from headwater.devstack.kafka import TansuBroker


def test_a_taken_port_is_reported(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = TansuBroker(port, pidfile=tmp_path / "tansu.pid", log_file=tmp_path / "tansu.log")
        with pytest.raises(RuntimeError, match="already in use"):
            broker.start()
    assert not (tmp_path / "tansu.pid").exists()

"""The machine the bench ran on, and how busy its CPUs were while a measurement ran."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_info(event_loop: str) -> dict[str, object]:
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "event_loop": event_loop,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "git_revision": _git_revision(),
        "packages": {name: _version(name) for name in ("aiohttp", "aiokafka", "msgspec", "uvloop")},
    }


def _machine_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies over all CPUs since boot, from /proc/stat; None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


@dataclass(frozen=True)
class CpuUsage:
    machine_busy_percent: float | None  # of all CPUs together: 100 means every core busy
    bench_process_percent: float  # of one core: this load generator's own share


class CpuMeter:
    """CPU use between `__init__` and `stop()`: the whole machine's, and this process's."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._process = time.process_time()
        self._machine = _machine_cpu_ticks()

    def stop(self) -> CpuUsage:
        wall = time.perf_counter() - self._wall
        process = time.process_time() - self._process
        machine_end = _machine_cpu_ticks()
        busy: float | None = None
        if self._machine is not None and machine_end is not None:
            total = machine_end[1] - self._machine[1]
            busy = 100 * (machine_end[0] - self._machine[0]) / total if total else None
        return CpuUsage(machine_busy_percent=busy, bench_process_percent=100 * process / wall if wall else 0.0)

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


@dataclass(frozen=True)
class _CpuTicks:
    busy: int
    steal: int
    total: int


def _machine_cpu_ticks() -> _CpuTicks | None:
    """Jiffies over all CPUs since boot, from the first line of /proc/stat; None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(f) for f in fields)  # guest is in user
    busy = user + nice + system + irq + softirq
    return _CpuTicks(busy=busy, steal=steal, total=busy + idle + iowait + steal)


@dataclass(frozen=True)
class CpuUsage:
    machine_busy_percent: float | None  # of all CPUs together: 100 means every core busy
    machine_steal_percent: float | None  # taken by the hypervisor for other guests: a noisy neighbour
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
        start, end = self._machine, _machine_cpu_ticks()
        busy = steal = None
        if start is not None and end is not None and end.total > start.total:
            total = end.total - start.total
            busy = 100 * (end.busy - start.busy) / total
            steal = 100 * (end.steal - start.steal) / total
        return CpuUsage(
            machine_busy_percent=busy,
            machine_steal_percent=steal,
            bench_process_percent=100 * process / wall if wall else 0.0,
        )

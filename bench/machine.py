"""What the figures were measured on: CPU, cores, memory, OS, interpreter and library versions."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.report import ROOT


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    system: str
    python: str
    numpy: str
    commit: str
    date: str

    def describe(self) -> list[str]:
        """Markdown bullet lines."""
        return [
            f"- Date: {self.date}; commit {self.commit}",
            f"- CPU: {self.cpu}, {self.cores} cores; memory {self.memory_gib:.1f} GiB",
            f"- OS: {self.system}",
            f"- Python {self.python}, NumPy {self.numpy} (the benchmark's interpreter)",
        ]


def probe() -> Machine:
    """Read the machine's description (Linux /proc where available)."""
    import numpy

    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 1,
        memory_gib=_memory_kib() / 2**20,
        system=f"{platform.system()} {platform.release()} ({platform.machine()})",
        python=platform.python_version(),
        numpy=numpy.__version__,
        commit=_commit(),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them."""
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_kib() -> int:
    info = Path("/proc/meminfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


def _commit() -> str:
    """HEAD's short hash, marked `+ uncommitted changes` when the tree differs from it."""
    try:
        head, dirty = _git("rev-parse", "--short", "HEAD"), _git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


def _git(*args: str) -> str:
    run = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
    )
    return run.stdout.strip()

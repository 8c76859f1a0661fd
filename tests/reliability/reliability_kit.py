"""Helpers of the reliability suite: a live `python -m app`, its log, its memory, model faults.

`tests/liveserver.py` waits for `/ready`; these tests also start servers that must
come up *not* ready (no model yet), run as an unprivileged user (permissions are
meaningless to root), and be read from outside (`/proc/<pid>/status`), so they
get their own small runner built on the same free-port helper.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from liveserver import ROOT, free_port
from modelkit import rewrite_manifest, synthetic_series

from app.contract.store import list_versions

SERIES = [float(v) for v in synthetic_series()]
NOBODY = 65534  # uid and gid of `nobody` / `nogroup` on Debian
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@dataclass
class Running:
    """A live server: where it listens, its process and its log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def records(self) -> list[dict[str, Any]]:
        """The log's JSON lines (the runner logs nothing else; a stray line is skipped)."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_kib(self) -> int:
        """Resident memory of the server process, from the kernel (VmRSS, in KiB)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line: is the server still running?")

    def models(self) -> dict[str, dict[str, Any]]:
        return {m["name"]: m for m in httpx.get(f"{self.url}/v1/models", timeout=5).json()}


@contextmanager
def run_app(
    env: dict[str, str],
    log: Path,
    *,
    wait_path: str = "/ready",
    as_nobody: bool = False,
    timeout: float = 60,
) -> Iterator[Running]:
    """`python -m app` with `env` on a free port until the block ends; SIGTERM, then kill.

    Waits until `wait_path` answers 200 (`/health` for a server expected to start unready).
    """
    port = free_port()
    command = [*(AS_NOBODY if as_nobody else []), sys.executable, "-m", "app"]
    full_env = {**os.environ, "FORECAST_HOST": "127.0.0.1", "FORECAST_PORT": str(port), **env}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    running = Running(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_for(lambda: _answers(running, wait_path), timeout, f"{wait_path} never answered 200")
        yield running
    finally:
        stop(process)


def _answers(running: Running, path: str) -> bool:
    if not running.alive():
        raise RuntimeError(f"server exited with {running.process.returncode}:\n{_tail(running)}")
    try:
        return httpx.get(f"{running.url}{path}", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _tail(running: Running, lines: int = 40) -> str:
    return "\n".join(running.log.read_text(errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> int:
    """SIGTERM and wait; kill after `grace` seconds. Returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def wait_for(condition: Callable[[], bool], seconds: float, what: str = "condition") -> None:
    """Poll `condition` every 50 ms until it holds; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} (after {seconds} s)"
        time.sleep(0.05)


@functools.cache
def can_run_as_nobody() -> str | None:
    """None when the server can run as `nobody` here, else why not (for a skip)."""
    if os.geteuid() != 0:
        return "not root: cannot switch to nobody (and file permissions already apply)"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    probe = [*AS_NOBODY, sys.executable, "-c", "import app.main"]
    try:
        done = subprocess.run(probe, cwd=ROOT, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot start Python as nobody: {exc}"
    if done.returncode != 0:
        return f"nobody cannot import the app here: {done.stderr.decode()[-300:]}"
    return None


def next_version(model_dir: Path) -> int:
    return (list_versions(model_dir) or [0])[-1] + 1


def publish_broken(model_dir: Path, breakage: Callable[[Path], object]) -> int:
    """Version 1 copied to the next number, broken by `breakage`, then renamed into place.

    The rename makes the broken version appear whole, as training publishes one, so a
    poll never sees a half-built copy (`test_watcher` covers those separately).
    """
    version = next_version(model_dir)
    staging = model_dir / f".staging-{version}"
    shutil.copytree(model_dir / "1", staging)
    rewrite_manifest(staging, version=version)
    breakage(staging)
    staging.rename(model_dir / str(version))
    return version


def refusal(running: Running, name: str, version: int) -> str | None:
    """The reason `/v1/models` gives for refusing `name` version `version`, if it does."""
    reason: str | None = running.models().get(name, {}).get("refused", {}).get(str(version))
    return reason


def assert_still_serving(running: Running, version: int = 1, model: str = "toy") -> None:
    """The fault changed nothing for clients: ready, and forecasting with `version`."""
    assert running.alive(), f"the server died:\n{_tail(running)}"
    assert httpx.get(f"{running.url}/ready", timeout=5).status_code == 200
    body = {"values": SERIES, "horizon": 2}
    answer = httpx.post(f"{running.url}/v1/models/{model}/predict", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == version
    assert "Traceback" not in running.log.read_text(errors="replace")

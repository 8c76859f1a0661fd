"""Run the service as a real `uvicorn app.main:app` process on a free port, as users do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    seconds_to_ready: float
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(
    env: dict[str, str], log: Path, timeout: float = 60, runner: bool = False
) -> Iterator[LiveServer]:
    """Run uvicorn with `env` added to the environment until the block ends (then SIGTERM it).

    `runner=True` starts the production runner, `python -m app`, instead of the uvicorn CLI.
    """
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    if runner:
        command = [sys.executable, "-m", "app"]
        env = {"FORECAST_HOST": "127.0.0.1", "FORECAST_PORT": str(port), **env}
    with log.open("wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log, started + timeout)
        yield LiveServer(url, process, time.monotonic() - started, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"server not ready after the deadline:\n{log.read_text()}")

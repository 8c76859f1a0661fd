"""Run uvicorn apps as real subprocesses on 127.0.0.1: time to ready, resident memory, stop.

With two or more CPUs allowed, the server runs pinned to the first and the load
generator to the second (`SERVER_CPU`, `CLIENT_CPU`), so the Python client does not
steal the server's CPU time: one uvicorn worker is measured on one core, as it is
deployed (one worker per pod).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import ROOT

_ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
PINNING = len(_ALLOWED) >= 2
SERVER_CPU, CLIENT_CPU = (_ALLOWED[0], _ALLOWED[1]) if PINNING else (None, None)
STOP_GRACE_S = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One JSON request to 127.0.0.1:`port`; returns (status, decoded body or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if payload is not None else {}
        conn.request(method, path, body=payload, headers={**sent, **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, None


@dataclass
class Server:
    """A running uvicorn process and what its start measured."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    seconds_to_ready: float
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status_kib(self, field: str = "VmRSS") -> int | None:
        """A memory figure of the process from /proc (`VmRSS` resident, `VmHWM` its peak)."""
        status = Path(f"/proc/{self.process.pid}/status")
        if not status.is_file():
            return None
        for line in status.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        return None

    def rss_mib(self) -> float | None:
        kib = self.status_kib("VmRSS")
        return None if kib is None else kib / 1024

    def peak_mib(self) -> float | None:
        kib = self.status_kib("VmHWM")
        return None if kib is None else kib / 1024


def uvicorn(python: str, app: str, *options: str) -> Callable[[int], list[str]]:
    """The command serving `app` with uvicorn (1 worker, `options` added) on 127.0.0.1:port."""
    return lambda port: [
        python,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
    ]


def service(python: str) -> Callable[[int], list[str]]:
    """The service as it is deployed: `python -m app` (uvicorn, 1 worker, JSON logs, no
    uvicorn access log); it reads host and port from `FORECAST_HOST` / `FORECAST_PORT`,
    see `SERVICE_ENV` and `serve(port_env="FORECAST_PORT")`."""
    return lambda port: [python, "-m", "app"]


SERVICE_ENV = {"FORECAST_HOST": "127.0.0.1"}
SERVICE_PORT_ENV = "FORECAST_PORT"


@contextmanager
def serve(
    name: str,
    command: Callable[[int], list[str]],
    env: dict[str, str],
    logs: Path,
    timeout: float = 90.0,
    ready_path: str = "/ready",
    port_env: str | None = None,
    pin: bool = True,
) -> Iterator[Server]:
    """Start `command(port)` from the project root, pinned to the server CPU (unless `pin` is
    False: several workers use every CPU); yield once ready.

    `port_env` names an environment variable that also gets the port, for servers
    that read it from there. Readiness is the first 200 from `ready_path`, polled
    every 10 ms; the time counts from just before the process is spawned. The
    process gets SIGTERM when the block ends (SIGKILL after the grace period).
    """
    port = free_port()
    log = logs / f"{name}-{port}.log"
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            command(port),
            cwd=ROOT,
            env={**os.environ, **env, **({port_env: str(port)} if port_env else {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_pin_server if PINNING and pin else None,
        )
    try:
        seconds = _wait_ready(process, port, ready_path, started, timeout, log)
        yield Server(name, process, port, seconds, log)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, then SIGKILL after the grace period; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def _pin_server() -> None:
    if SERVER_CPU is not None:
        os.sched_setaffinity(0, {SERVER_CPU})


def _wait_ready(
    process: subprocess.Popen[bytes],
    port: int,
    path: str,
    started: float,
    timeout: float,
    log: Path,
) -> float:
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-12:])
            raise RuntimeError(f"server exited with {process.returncode}; {log} ends:\n{tail}")
        try:
            if request(port, "GET", path, timeout=1.0)[0] == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"server not ready within {timeout} s; log: {log}")

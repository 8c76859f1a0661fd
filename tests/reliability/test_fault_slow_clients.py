"""Item 7: slow clients holding connections open must not starve the others.

Three kinds of stalled client, 110 sockets in all: half-sent headers (slowloris),
complete headers with half the declared body, and clients that ask for a large
answer and never read it. There are more stalled bodies than the thread pool has
threads (40), so if reading a body held a thread, forecasts would queue behind
them. Meanwhile an ordinary client keeps forecasting and must be answered at once.
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from reliability_kit import SERIES, assert_still_serving, run_app

PARTIAL_HEADERS = 50
PARTIAL_BODIES = 50
NON_READERS = 10
PROBES = 200
PROMPT = 1.0  # seconds: the slowest ordinary request allowed (they take milliseconds)


def opened(stack: ExitStack, port: int, first_bytes: bytes) -> socket.socket:
    sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
    sock.sendall(first_bytes)
    return sock


@contextmanager
def stalled_clients(port: int) -> Iterator[list[socket.socket]]:
    """Open every slow client, send its first bytes, then never send (or read) another."""
    head = f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
    body = json.dumps({"values": SERIES}).encode()
    large = json.dumps({"series": [SERIES[:5]] * 1000, "horizon": 100}).encode()
    with ExitStack() as stack:
        sockets = [opened(stack, port, head + b"Content-Ty") for _ in range(PARTIAL_HEADERS)]
        declared = (
            head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        sockets += [
            opened(stack, port, declared + body[: len(body) // 2]) for _ in range(PARTIAL_BODIES)
        ]
        ask = (
            f"POST /v1/models/toy/predict/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(large)}\r\n\r\n"
        ).encode()
        sockets += [opened(stack, port, ask + large) for _ in range(NON_READERS)]
        yield sockets


def test_stalled_clients_do_not_slow_down_the_others(toy_models: Path, tmp_path: Path) -> None:
    env = {"FORECAST_MODEL_DIR": str(toy_models), "FORECAST_DEFAULT_MODEL": "toy"}
    with run_app(env, tmp_path / "server.log") as running:
        port = int(running.url.rsplit(":", 1)[1])
        with stalled_clients(port), httpx.Client(base_url=running.url, timeout=10) as other:
            time.sleep(0.5)  # let the server take every stalled request as far as it can
            took, statuses = [], []
            for _ in range(PROBES):
                started = time.monotonic()
                statuses.append(other.post("/v1/predict", json={"values": SERIES}).status_code)
                took.append(time.monotonic() - started)
            ready = httpx.get(f"{running.url}/ready", timeout=PROMPT).status_code
        print(
            f"\n{PROBES} requests beside {PARTIAL_HEADERS + PARTIAL_BODIES + NON_READERS} stalled"
            f" sockets: median {statistics.median(took) * 1000:.1f} ms,"
            f" max {max(took) * 1000:.1f} ms"
        )
        assert set(statuses) == {200} and ready == 200
        assert max(took) < PROMPT
        assert_still_serving(running)  # and after they all hung up

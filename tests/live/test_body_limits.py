"""Issue 17, finding 6, live: bodies are refused on their headers, and cut off when they stall.

Raw sockets, because an HTTP client would not send `Content-Length: 5000000000`
without the 5 GB, nor stop halfway through its body on purpose. The bounds are
generous: they prove "answers instead of hanging", not a latency.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from liveserver import LiveServer, live_server
from modelkit import synthetic_series

SERIES = [float(v) for v in synthetic_series()]
KEY = "the-only-key"
STALL_TIMEOUT = 1.0  # FORECAST_BODY_TIMEOUT_SECONDS of the keyed server
SLACK = 4.0  # seconds on top of any bound: a shared, busy test machine
HUGE = 5_000_000_000


@pytest.fixture(scope="module")
def keyed(toy_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server with an API key and a 1 s body timeout."""
    env = {
        "FORECAST_MODEL_DIR": str(toy_models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_API_KEYS": KEY,
        "FORECAST_BODY_TIMEOUT_SECONDS": str(STALL_TIMEOUT),
    }
    with live_server(env, tmp_path_factory.mktemp("keyed") / "uvicorn.log") as running:
        yield running


def connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=SLACK)


def head(length: int, *extra: str) -> bytes:
    lines = [
        "POST /v1/predict HTTP/1.1",
        "Host: test",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(sock: socket.socket, within: float) -> tuple[bytes, bool]:
    """What the server sends within `within` seconds, and whether it then closed the socket."""
    deadline = time.monotonic() + within
    received = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return received, False
        except ConnectionResetError:
            return received, True
        if not chunk:
            return received, True
        received += chunk
    return received, False


def status_and_body(raw: bytes) -> tuple[int, dict[str, object]]:
    assert raw, "no answer at all"
    head_part, _, body = raw.partition(b"\r\n\r\n")
    return int(head_part.split()[1]), json.loads(body)


def test_a_5_gb_declared_body_is_refused_on_its_headers(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(head(HUGE))  # and not one byte of the body
        raw, closed = answer(sock, within=SLACK)
    status, body = status_and_body(raw)
    assert status == 413 and body["type"] == "payload_too_large"
    assert "1048576" in str(body["error"])
    assert closed, "the connection must close: the client would otherwise send its 5 GB"


def test_the_declared_length_is_refused_before_the_key_is_checked(keyed: LiveServer) -> None:
    with connect(keyed) as sock:
        sock.sendall(head(HUGE))  # no Authorization header either
        raw, _ = answer(sock, within=SLACK)
    assert status_and_body(raw)[0] == 413  # not 401: no work at all for such a request


def test_a_stalled_body_is_cut_after_the_timeout(keyed: LiveServer) -> None:
    body = json.dumps({"values": SERIES}).encode()
    with connect(keyed) as sock:
        started = time.monotonic()
        sock.sendall(head(len(body), f"Authorization: Bearer {KEY}") + body[: len(body) // 2])
        # Meanwhile the server serves everyone else as usual.
        other = httpx.post(
            f"{keyed.url}/v1/predict",
            json={"values": SERIES},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert other.status_code == 200
        raw, closed = answer(sock, within=STALL_TIMEOUT + SLACK)
        took = time.monotonic() - started
    status, error = status_and_body(raw)
    assert status == 408 and error["type"] == "request_timeout", raw
    assert f"{STALL_TIMEOUT:g} s" in str(error["error"])
    assert closed and took < STALL_TIMEOUT + SLACK
    assert httpx.get(f"{keyed.url}/health").status_code == 200


def test_a_trickled_body_is_cut_too(keyed: LiveServer) -> None:
    """One byte every 50 ms never looks idle: the timeout is on the whole body, not a pause."""
    body = json.dumps({"values": SERIES}).encode()
    with connect(keyed) as sock:
        started = time.monotonic()
        sock.sendall(head(len(body), f"Authorization: Bearer {KEY}"))
        raw, closed = b"", False
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            raw, closed = answer(sock, within=0.05)
            if raw or closed or time.monotonic() - started > STALL_TIMEOUT + SLACK:
                break
        if not closed:
            more, closed = answer(sock, within=SLACK)
            raw += more
        took = time.monotonic() - started
    assert status_and_body(raw)[0] == 408 and closed
    assert took < STALL_TIMEOUT + SLACK

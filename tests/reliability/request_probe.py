"""Send issue 17's hostile requests to a live server and measure what each costs it.

Not a test: a probe for before/after figures, the companion of `artifact_probe.py`. It
starts `python -m app` from the checkout given (`--tree`, e.g. an old one, with its own
committed models) and sends, each to a fresh server: a V2 infer of 1,000 rows x 29 values,
horizon 24 and 300 levels; one row, horizon 8 and 100,000 levels with `/health` polled
meanwhile; evaluate of 10,000 values at horizon 120; a 5 GB declared body with headers
only; and a body that stops halfway. For each: status, seconds, answer size, the server's
peak resident memory (VmHWM) and, where it matters, the worst `/health` latency.

    python tests/reliability/request_probe.py --tree /work/main
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
MILK = [826.0, 799, 890, 900, 961, 935, 894, 855, 809, 810, 766, 805, 821, 773, 883, 898, 957]


@contextmanager
def server(tree: Path) -> Iterator[tuple[str, int]]:
    """`python -m app` from `tree` on a free port, ready; yields its URL and pid."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "FORECAST_PORT": str(port), "FORECAST_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "app"], cwd=tree, env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def peak_mib(pid: int) -> int:
    """VmHWM of the process, in MiB: the most resident memory it ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def timed_post(url: str, body: bytes) -> dict[str, Any]:
    started = time.monotonic()
    try:
        answer = httpx.post(
            url, content=body, headers={"content-type": "application/json"}, timeout=300
        )
    except httpx.HTTPError as exc:
        return {"error": type(exc).__name__, "seconds": round(time.monotonic() - started, 2)}
    return {
        "status": answer.status_code,
        "seconds": round(time.monotonic() - started, 2),
        "answer_bytes": len(answer.content),
        "says": answer.text[:160] if answer.status_code != 200 else "",
    }


def infer(rows: int, horizon: int, levels: int) -> bytes:
    values = (MILK * 2)[:29]
    spread = ",".join(f"{50 + 40 * (i + 1) / (levels + 1):.6f}" for i in range(levels))
    tensor = {"name": "values", "shape": [rows, 29], "datatype": "FP64", "data": values * rows}
    return json.dumps(
        {"inputs": [tensor], "parameters": {"horizon": horizon, "levels": spread}}
    ).encode()


def with_health(url: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `action` while `/health` is polled every 20 ms; add the worst latency seen."""
    latencies: list[float] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                httpx.get(f"{url}/health", timeout=30)
            finally:
                latencies.append(time.monotonic() - started)
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        result = action()
    finally:
        done.set()
        poller.join()
    return {**result, "health_worst_seconds": round(max(latencies, default=0), 3)}


def raw(port_url: str, head: bytes, body: bytes, cap: float) -> dict[str, Any]:
    """Send `head` and `body` on a raw socket, then wait up to `cap` s for an answer."""
    host, port = port_url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(head + body)
        sock.settimeout(cap)
        try:
            first = sock.recv(64)
        except TimeoutError:
            return {"answer": f"none within {cap:g} s"}
    return {
        "answer": first.split(b"\r\n")[0].decode(),
        "seconds": round(time.monotonic() - started, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose app runs")
    parser.add_argument("--cap", type=float, default=30, help="seconds to wait for an answer")
    args = parser.parse_args()
    evaluate = json.dumps({"values": (MILK * 600)[:10_000], "horizon": 120}).encode()
    declared = b"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    cases: dict[str, Callable[[str], dict[str, Any]]] = {
        "v2 1,000 rows x horizon 24 x 300 levels": lambda url: timed_post(
            f"{url}/v2/models/milk/infer", infer(1000, 24, 300)
        ),
        "v2 1 row x horizon 8 x 100,000 levels": lambda url: with_health(
            url, lambda: timed_post(f"{url}/v2/models/milk/infer", infer(1, 8, 100_000))
        ),
        "evaluate 10,000 values x horizon 120": lambda url: timed_post(
            f"{url}/v1/models/milk/evaluate", evaluate
        ),
        "5 GB declared, headers only": lambda url: raw(
            url, declared + b"content-length: 5000000000\r\n\r\n", b"", args.cap
        ),
        "body stalled halfway": lambda url: raw(
            url, declared + b"content-length: 200\r\n\r\n", b'{"values": [1, 2', args.cap
        ),
    }
    for name, case in cases.items():
        with server(args.tree) as (url, pid):
            print(json.dumps({"case": name, **case(url), "peak_mib": peak_mib(pid)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Plant each hostile artifact (`tests/hostilekit.py`) in a live server's model directory; measure.

Not a test: a probe for before/after figures. For every kind it starts `python -m app` from
the checkout given (`--tree`, e.g. an old one), polling the model directory every second,
drops a crafted `milk/3` in atomically (its hashes match), and reports the server's peak
resident memory (VmHWM) before and after, how long until the log refused the version,
whether a reload of another model still answers, and how `/health` fared meanwhile (worst
latency, unanswered probes).

    python tests/reliability/artifact_probe.py --tree /work/main [--kinds fifo,zip_bomb]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import hostilekit

ROOT = Path(__file__).resolve().parents[2]
KINDS: dict[str, Callable[[Path], None]] = {
    "object_array": lambda d: hostilekit.plant_scaler(d, hostilekit.ndarray_pickle(2 * 10**8, "O")),
    "hdf5_bomb": hostilekit.hdf5_bomb,
    "zip_bomb": hostilekit.zip_bomb,
    "fifo": hostilekit.fifo,
    "dev_zero": hostilekit.dev_zero,
    "calibration_nan": lambda d: hostilekit.calibration_residuals(d, hostilekit.nan_residual),
}
VERDICT_SECONDS = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout whose app runs")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        print(json.dumps({"tree": str(args.tree), "kind": kind, **probe(args.tree, kind)}))


def probe(tree: Path, kind: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(shutil.copytree(ROOT / "models", Path(tmp) / "models"))
        log = Path(tmp) / "server.log"
        port = _free_port()
        env = {
            **os.environ,
            "FORECAST_MODEL_DIR": str(models),
            "FORECAST_HOST": "127.0.0.1",
            "FORECAST_PORT": str(port),
            "FORECAST_POLL_SECONDS": "1",
        }
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "app"], cwd=tree, env=env, stdout=out, stderr=out
            )
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                _wait(lambda: _ok(f"{url}/ready"), 60)
            except TimeoutError:
                raise TimeoutError(log.read_text(errors="replace")[-2000:]) from None
            before = hostilekit.rss_peak_kib(server.pid)
            health = _HealthWatch(f"{url}/health")
            health.start()
            _plant(models / "milk", KINDS[kind])
            verdict = _verdict(log, time.monotonic())
            reload = _reload(f"{url}/v1/models/milk-seed/reload")
            time.sleep(2)  # a few more probes after the verdict
            health.stop()
            return {
                "peak_rss_mb_before": round(before / 1024, 1),
                "peak_rss_mb_after": round(hostilekit.rss_peak_kib(server.pid) / 1024, 1),
                "verdict": verdict,
                "reload_other_model": reload,
                "health_worst_seconds": round(health.worst, 3),
                "health_unanswered": health.failures,
                "health_probes": health.count,
            }
        finally:
            server.terminate()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _plant(model_dir: Path, make_hostile: Callable[[Path], None]) -> None:
    """Build `3` beside its place from a copy of `2`, then rename it in, as training does."""
    building = model_dir / ".building-probe"
    shutil.copytree(model_dir / "2", building)
    manifest = json.loads((building / "manifest.json").read_text())
    (building / "manifest.json").write_text(json.dumps({**manifest, "version": 3}))
    make_hostile(building)
    building.rename(model_dir / "3")


def _verdict(log: Path, since: float) -> str:
    deadline = since + VERDICT_SECONDS
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if "milk version 3" in line:
                seconds = time.monotonic() - since
                return f"after {seconds:.1f} s: {json.loads(line).get('message', line)[:200]}"
        time.sleep(0.1)
    return f"no verdict in {VERDICT_SECONDS} s"


def _reload(url: str) -> str:
    """Whether a reload of another model still answers (the watcher may be stuck on this one)."""
    try:
        return f"HTTP {httpx.post(url, timeout=5).status_code}"
    except httpx.TransportError:
        return "no answer in 5 s"


class _HealthWatch(threading.Thread):
    """`GET /health` every 0.25 s (2 s timeout, the liveness probe's): worst latency, failures."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.worst, self.failures, self.count = url, 0.0, 0, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            started = time.monotonic()
            try:
                answered = httpx.get(self.url, timeout=2).status_code == 200
            except httpx.TransportError:
                answered = False
            self.count += 1
            self.failures += not answered
            self.worst = max(self.worst, time.monotonic() - started)
            self._halt.wait(0.25)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _wait(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the server never became ready")
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    main()

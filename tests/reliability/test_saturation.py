"""Past saturation: 256 clients against one worker. The promises an orchestrator relies on hold.

- probes (`/health`, `/ready`) answer within a second all along, so a busy pod is not killed;
  each opens a new connection, as the kubelet's do, so accepting it counts too;
- excess work is refused at once with 503 and `Retry-After`, not queued: no answer, served or
  refused, takes more than a few seconds;
- memory stays bounded;
- once the load stops, a forecast is as fast as before it.

The load comes from `bench.loadgen` (raw keep-alive HTTP on uvloop, one pre-encoded body) and
the probes from a separate process: a Python HTTP client in the test process would itself be
the bottleneck, and its latencies its own.

The figures (served and shed per second, latency of each, probe latency) are printed and
written to `test-output/reliability/saturation.json` for BENCHMARKS.md.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from liveserver import ROOT
from reliability_kit import SERIES, Running, run_app

pytestmark = pytest.mark.reliability
CLIENTS = 256
SECONDS = 15.0
PATH = "/v1/models/toy/predict/batch"
BODY = {"series": [SERIES[i % 40 :] for i in range(50)], "horizon": 6}  # a few ms of work
# Probes come from another process, so their latency is the server's, not the client's.
PROBER = """
import json, sys, time, httpx
url, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
took = []
# A new connection for every probe, as the kubelet opens one: accepting it is part of the answer.
fresh = httpx.Limits(max_keepalive_connections=0)
with httpx.Client(base_url=url, timeout=10, limits=fresh) as client:
    while time.monotonic() < until:
        for path in ("/health", "/ready"):
            started = time.perf_counter()
            status = client.get(path).status_code
            took.append(time.perf_counter() - started if status == 200 else float("inf"))
        time.sleep(0.1)
print(json.dumps(took))
"""
RESULTS = ROOT / "test-output" / "reliability" / "saturation.json"


def overload(running: Running, body: Path, rss: list[int]) -> tuple[dict[str, Any], list[float]]:
    """`CLIENTS` closed-loop connections for `SECONDS`, probes alongside; samples RSS."""
    prober = subprocess.Popen(
        [sys.executable, "-c", PROBER, running.url, str(SECONDS)], stdout=subprocess.PIPE
    )
    command = [sys.executable, "-m", "bench.loadgen", "--url", f"{running.url}{PATH}"]
    command += ["--body-file", str(body), "--concurrency", str(CLIENTS)]
    command += ["--duration", str(SECONDS), "--server-pid", str(running.process.pid)]
    load = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    while load.poll() is None:
        rss.append(running.rss_kib())
        time.sleep(1)
    out, _ = load.communicate()
    probes, _ = prober.communicate(timeout=30)
    return json.loads(out), json.loads(probes)


def quiet_latency(url: str, n: int = 30) -> float:
    """Median seconds of one small predict, with nothing else going on."""
    with httpx.Client(base_url=url, timeout=10) as client:
        took = []
        for _ in range(n):
            started = time.perf_counter()
            assert client.post("/v1/predict", json={"values": SERIES}).status_code == 200
            took.append(time.perf_counter() - started)
    return statistics.median(took)


def p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * (len(values) - 1))] if values else 0.0


def test_one_worker_keeps_its_promises_at_concurrency_256(toy_models: Path, tmp_path: Path) -> None:
    env = {"FORECAST_MODEL_DIR": str(toy_models), "FORECAST_DEFAULT_MODEL": "toy"}
    body = tmp_path / "batch.json"
    body.write_text(json.dumps(BODY))
    with run_app(env, tmp_path / "server.log") as running:
        before = quiet_latency(running.url)
        rss_before = running.rss_kib()
        samples: list[int] = []
        load, probes = overload(running, body, samples)
        after = quiet_latency(running.url)
        rss_after = running.rss_kib()
    shed = int(load["statuses"].get("503", 0))
    figures = {
        "clients": CLIENTS,
        "seconds": SECONDS,
        "served_per_s": round(load["rps"], 1),
        "shed_per_s": round(shed / load["seconds"], 1),
        "served_p50_ms": round(load["p50_ms"], 1),
        "served_p99_ms": round(load["p99_ms"], 1),
        "served_max_ms": round(load["max_ms"], 1),
        "shed_p99_ms": round(load["refused_p99_ms"] or 0, 1),
        "shed_max_ms": round(load["refused_max_ms"] or 0, 1),
        "probe_p99_ms": round(1000 * p99(probes), 1),
        "probe_max_ms": round(1000 * max(probes), 1),
        "quiet_predict_ms_before": round(1000 * before, 2),
        "quiet_predict_ms_after": round(1000 * after, 2),
        "rss_kib": {"before": rss_before, "peak": max(samples), "after": rss_after},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nsaturation: {json.dumps(figures)}")
    assert set(load["statuses"]) <= {"200", "503"}, load["statuses"]
    assert load["ok"] and shed, "the load should both be served and shed"
    assert max(probes) < 1.0, figures
    assert max(load["max_ms"], load["refused_max_ms"]) < 5000, figures
    assert max(samples) < rss_before + 100 * 1024, figures  # bounded: no queue to grow
    assert after < 3 * before + 0.005, figures  # back to normal at once

"""Start and footprint: seconds to `/ready`, resident memory, installed size.

- Ready: from just before the process is spawned to the first 200 from `GET /ready`,
  ours (serving venv) and the peer's, each started several times, one at a time.
- Memory: `VmRSS` of the uvicorn process from /proc after warm-up (ours: 1,000
  predictions; the peer: 20) and, for ours, after 100,000 more at concurrency 32,
  with `VmHWM` (the peak).
- Installed size: the fresh serving (`pip install .`) and training (`.[train]`) venvs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench import envs, servers
from bench.http_bench import AUTH, loadgen, ours_env, peer_env
from bench.report import median, num, table
from bench.workload import Model, write_bodies

WARMUP_REQUESTS = {"ours": 1000, "peer": 20}
SOAK_REQUESTS = 100_000
SOAK_CONCURRENCY = 32
SOAK_TIME_CAP_S = 300.0


def measure(
    model: Model,
    venvs: dict[str, envs.Venv],
    peer_python: str,
    logs: Path,
    starts: dict[str, int],
    soak_requests: int = SOAK_REQUESTS,
) -> dict[str, Any]:
    """Start each server `starts[name]` times, then soak ours; sizes of the venvs."""
    body = write_bodies(logs)["predict_file"]
    commands = {
        "ours": (servers.service(venvs["serve"].python), ours_env(model)),
        "peer": (servers.uvicorn(peer_python, "bench.peer_app:app"), peer_env(model)),
    }
    started: dict[str, list[dict[str, float | None]]] = {name: [] for name in commands}
    for i in range(max(starts.values())):
        for name, (command, env) in commands.items():
            if i < starts[name]:
                port_env = servers.SERVICE_PORT_ENV if name == "ours" else None
                with servers.serve(name, command, env, logs, 180, port_env=port_env) as server:
                    warm = loadgen(
                        f"{server.url}/v1/predict",
                        body,
                        8 if name == "ours" else 1,
                        120.0,
                        0.0,
                        max_requests=WARMUP_REQUESTS[name],
                        headers=AUTH if name == "ours" else (),
                    )
                    started[name].append(
                        {
                            "ready_s": server.seconds_to_ready,
                            "rss_mib": server.rss_mib(),
                            "errors": warm["errors"],
                        }
                    )
                print(f"bench start: {name}: {started[name][-1]}", file=sys.stderr)
    command, env = commands["ours"]
    with servers.serve(
        "ours-soak", command, env, logs, port_env=servers.SERVICE_PORT_ENV
    ) as server:
        url = f"{server.url}/v1/predict"
        loadgen(url, body, 8, 120.0, 0.0, WARMUP_REQUESTS["ours"], headers=AUTH)
        before = server.rss_mib()
        soak = loadgen(
            f"{server.url}/v1/predict",
            body,
            SOAK_CONCURRENCY,
            SOAK_TIME_CAP_S,
            0.0,
            max_requests=soak_requests,
            headers=AUTH,
        )
        after, peak = server.rss_mib(), server.peak_mib()
    return {
        "starts": started,
        "soak": {"before_mib": before, "after_mib": after, "peak_mib": peak, **soak},
        "sizes": {
            kind: {
                "mib": envs.disk_usage_mib(venv.path),
                "largest": envs.largest_packages(venv),
                "path": str(venv.path),
                "reused": venv.reused,
            }
            for kind, venv in venvs.items()
        },
        "serve_numpy": envs.version_of(venvs["serve"].python, "numpy"),
        "serve_has_tensorflow": envs.version_of(venvs["serve"].python, "tensorflow"),
    }


def render(result: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The start/memory and size tables, and the figures the targets are judged on."""
    starts = result["starts"]
    ready = {name: median(s["ready_s"] for s in runs) for name, runs in starts.items()}
    rss = {name: median(s["rss_mib"] for s in runs) for name, runs in starts.items()}
    soak = result["soak"]
    rows = [
        [
            "**ours** (`python -m app`, serving venv)",
            f"{num(ready['ours'], 2)} s",
            _range(starts["ours"], "ready_s", 2),
            f"{num(rss['ours'], 0)} MiB",
            f"{num(soak['after_mib'], 0)} MiB (peak {num(soak['peak_mib'], 0)})",
        ],
        [
            "naive peer (`bench.peer_app:app`, Keras)",
            f"{num(ready['peer'], 2)} s",
            _range(starts["peer"], "ready_s", 2),
            f"{num(rss['peer'], 0)} MiB",
            "-",
        ],
    ]
    sizes = result["sizes"]
    size_rows = [
        [
            label,
            f"{num(sizes[kind]['mib'], 0)} MiB",
            ", ".join(f"{name} {mib:.0f}" for name, mib in sizes[kind]["largest"]),
        ]
        for kind, label in (
            ("serve", "serving: `pip install .`"),
            ("train", "training: `pip install '.[train]'`"),
        )
    ]
    n_ours, n_peer = len(starts["ours"]), len(starts["peer"])
    lines = [
        *table(
            [
                "server",
                "start to `/ready` 200",
                "(min to max)",
                "RSS after warm-up",
                f"RSS after {soak['ok']:,} more requests",
            ],
            rows,
        ),
        "",
        f"Start: median of {n_ours} starts of ours and {n_peer} of the peer, one at a time, "
        "each pinned to one CPU, from just before the process is spawned to the first 200 "
        "from `GET /ready` (polled every 10 ms). RSS: `VmRSS` of the uvicorn process "
        f"(`/proc/<pid>/status`), medians over the same starts, after "
        f"{WARMUP_REQUESTS['ours']:,} predictions (ours) / {WARMUP_REQUESTS['peer']} (peer). "
        f"Then one run of ours: {WARMUP_REQUESTS['ours']:,} warm-up predictions "
        f"(RSS {num(soak['before_mib'], 0)} MiB), then {soak['ok']:,} `POST /v1/predict` at "
        f"concurrency {SOAK_CONCURRENCY} in {soak['seconds']:.0f} s ({num(soak['rps'])} req/s, "
        f"{soak['errors']} errors); the peak is `VmHWM`.",
        "",
        *table(["environment (fresh venv)", "installed size", "largest packages (MiB)"], size_rows),
        "",
        "Installed size: allocated bytes (`du -s`) of a fresh venv (pip and setuptools "
        "included) built in /tmp from a copy of the project; cached between runs, keyed by "
        "pyproject.toml. The serving venv runs ours in every table above: NumPy "
        f"{result['serve_numpy']}, TensorFlow {result['serve_has_tensorflow']}.",
    ]
    judged = {
        "ready_s": ready["ours"],
        "rss_mib": soak["after_mib"],
        "soak_requests": soak["ok"],
    }
    return lines, judged


def _range(runs: list[dict[str, float | None]], key: str, digits: int) -> str:
    values = [v for r in runs if (v := r[key]) is not None]
    return f"{num(min(values), digits)} to {num(max(values), digits)}" if values else "-"

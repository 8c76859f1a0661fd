"""The HTTP benchmark's tables and the figures its targets are judged on."""

from __future__ import annotations

from typing import Any

from bench import servers
from bench.report import median, num, ratio, table

LABELS = {
    "bare": "bare FastAPI: same body model and answer shape, no middleware, uvicorn's access log",
    "quiet": "quiet bare FastAPI: the same, uvicorn's access log off",
    "predict": "**ours: `POST /v1/predict`, 80 % and 95 % intervals**",
    "plain": "ours: `POST /v1/predict`, `levels: []` (no intervals)",
    "v2": "ours: `POST /v2/models/{name}/infer`, the same series as a V2 tensor, intervals",
    "stack": "ours: `POST /bench/validate` (our stack, no forecast)",
    "peer": "naive peer: Keras `model.predict` per member per request",
}


def figures(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """Median over rounds of each figure; errors summed; throughput range kept."""
    rps = [r["rps"] for r in runs]
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_us_per_request")
    out: dict[str, float | None] = {key: median(r.get(key) for r in runs) for key in keys}
    out.update(rps_min=min(rps), rps_max=max(rps), errors=sum(r["errors"] for r in runs))
    return out


def render(result: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The HTTP tables, and the figures the targets are judged on."""
    cells = {key: figures(runs) for key, runs in result["cells"].items()}
    plan = result["plan"]
    judged: dict[str, Any] = {"ratios": {}}
    rows, ratios = [], []
    for c in plan["concurrencies"]:
        for key, label in LABELS.items():
            if (f := cells.get(f"{key} c={c}")) is not None:
                rows.append([label, str(c), _rps(f), *_latencies(f), _cpu(f), num(f["errors"])])
        bare, quiet, pred, plain = (
            cells[f"{k} c={c}"] for k in ("bare", "quiet", "predict", "plain")
        )
        judged["ratios"][c] = {
            "intervals": _pct(pred["rps"], bare["rps"]),
            "plain": _pct(plain["rps"], bare["rps"]),
            "p99": ratio(pred["p99_ms"], bare["p99_ms"]),
            "intervals_quiet": _pct(pred["rps"], quiet["rps"]),
            "p99_quiet": ratio(pred["p99_ms"], quiet["p99_ms"]),
        }
        ratios.append(
            [
                str(c),
                num(judged["ratios"][c]["intervals"], 0, " %"),
                num(_pct(bare["cpu_us_per_request"], pred["cpu_us_per_request"]), 0, " %"),
                num(judged["ratios"][c]["plain"], 0, " %"),
                num(_pct(bare["cpu_us_per_request"], plain["cpu_us_per_request"]), 0, " %"),
                num(judged["ratios"][c]["p99"], 1, "x"),
                num(judged["ratios"][c]["intervals_quiet"], 0, " %"),
                num(judged["ratios"][c]["p99_quiet"], 1, "x"),
            ]
        )
    judged["batch"] = {
        h: _per_forecast(cells[f"batch h={h}"], plan) for h in plan["batch_horizons"]
    }
    judged["bare_batch"] = {
        h: _per_forecast(cells[f"bare batch h={h}"], plan) for h in plan["batch_horizons"]
    }
    judged["scaling"] = {k: figures(v)["rps"] for k, v in result["scaling"].items()}
    lines = [
        *table(
            [
                "server: route",
                "concurrency",
                "req/s (min to max)",
                "p50",
                "p90",
                "p99",
                "server CPU per request",
                "errors",
            ],
            rows,
        ),
        "",
        *table(
            [
                "concurrency",
                "predict / bare, req/s",
                "(by server CPU)",
                "no intervals / bare, req/s",
                "(by server CPU)",
                "predict p99 / bare p99",
                "predict / quiet bare, req/s",
                "p99 / quiet bare's",
            ],
            ratios,
        ),
        "",
        f"Batch endpoint, `POST /v1/models/{{name}}/predict/batch`, {plan['batch_series']:,} "
        "series of 36 values per request, 80 % and 95 % intervals, one connection; bare"
        " FastAPI takes the same body and answers the same shape (`bench/bare_app.py`), the"
        " framework's own ceiling for the batch:",
        "",
        *_batch_table(judged, cells, plan),
        "",
        "Scaling out on this 2-core machine, `POST /v1/predict` with intervals (req/s; one"
        " worker pinned to one core, two workers unpinned on both, sharing them with the load"
        " generator):",
        "",
        *table(
            [
                "concurrency",
                "1 worker, 1 core",
                "2 workers (`WEB_CONCURRENCY=2`), 2 cores",
                "2 / 1",
            ],
            [
                [
                    str(c),
                    num(judged["scaling"][f"1 c={c}"]),
                    num(judged["scaling"][f"2 c={c}"]),
                    num(
                        ratio(judged["scaling"][f"2 c={c}"], judged["scaling"][f"1 c={c}"]), 2, "x"
                    ),
                ]
                for c in (8, 32)
            ],
        ),
        "",
        *_notes(result, cells["loadgen ceiling c=32"]["rps"]),
    ]
    return lines, judged


def _per_forecast(f: dict[str, float | None], plan: dict[str, Any]) -> dict[str, float | None]:
    rps, cpu = f["rps"], f["cpu_us_per_request"]
    n = plan["batch_series"]
    return {
        "forecasts_per_s": None if rps is None else rps * n,
        "cpu_forecasts_per_s": None if not cpu else 1e6 * n / cpu,  # what one full core gives
        "p99_ms": f["p99_ms"],
    }


def _batch_table(
    judged: dict[str, Any], cells: dict[str, dict[str, float | None]], plan: dict[str, Any]
) -> list[str]:
    rows = []
    for h in plan["batch_horizons"]:
        for key, label in (("bare batch", "bare FastAPI"), ("batch", "**ours**")):
            f, b = cells[f"{key} h={h}"], judged[key.replace(" ", "_")][h]
            bare = judged["bare_batch"][h]["forecasts_per_s"]
            versus = num(_pct(b["forecasts_per_s"], bare), 0, " %") if key == "batch" else "-"
            rows.append(
                [
                    label,
                    str(h),
                    _rps(f),
                    num(b["forecasts_per_s"]),
                    versus,
                    num(b["cpu_forecasts_per_s"]),
                    *_latencies(f)[::2],
                    _cpu(f),
                    num(f["errors"]),
                ]
            )
    header = ["server", "horizon", "req/s (min to max)", "forecasts/s", "ours / bare"]
    header += ["forecasts per CPU-second", "p50", "p99", "server CPU per request", "errors"]
    return table(header, rows)


def _notes(result: dict[str, Any], loadgen_capacity: float | None) -> list[str]:
    plan = result["plan"]
    return [
        f"Model: {result['model']}. Ours runs as deployed (`python -m app`, JSON access log on"
        " stdout, Prometheus metrics, request ids, load shedding) with an API key set and sent"
        " by every request. Each cell: "
        f"{plan['warmup']:g} s warm-up (peer: {plan['peer_warmup']:g} s), then "
        f"{plan['duration']:g} s measured; {plan['rounds']} round(s), every round visiting"
        " every cell in turn; figures are the medians over the rounds (req/s range in"
        " brackets); latencies in ms. Server CPU per request: user + system CPU time of the"
        " server process (all threads, `/proc/<pid>/stat`) over the requests completed in the"
        " window; it barely moves when other processes take the CPU, so on a busy machine the"
        " CPU-based ratios are the steadier ones. Body: the last 36 months of the milk series,"
        f" horizon 1; the peer's forecast differs from ours by {result['agreement']:.1e}"
        " (both float32, summed in another order), so both do the same work.",
        "Load generator: `bench/loadgen.py`, closed loop (concurrency = requests in flight),"
        " HTTP/1.1 keep-alive, asyncio + uvloop. Its own capacity against a canned-response"
        f" server on the same CPU at concurrency 32: {num(loadgen_capacity)} req/s.",
        _pinning_note(result["pinned"]),
    ]


def _cpu(f: dict[str, float | None]) -> str:
    value = f["cpu_us_per_request"]
    if value is not None and value >= 10_000:
        return num(value / 1000, 0, " ms")
    return num(value, 0, " µs")


def _rps(f: dict[str, float | None]) -> str:
    return f"{_adaptive(f['rps'])} ({_adaptive(f['rps_min'])} to {_adaptive(f['rps_max'])})"


def _adaptive(value: float | None) -> str:
    """One decimal below 100, none above: 8.3 req/s, 1,234 req/s."""
    return num(value, 1 if (value or 0) < 100 else 0)


def _latencies(f: dict[str, float | None]) -> list[str]:
    return [num(f[k], 2 if (f[k] or 0) < 100 else 0) for k in ("p50_ms", "p90_ms", "p99_ms")]


def _pct(top: float | None, bottom: float | None) -> float | None:
    r = ratio(top, bottom)
    return None if r is None else 100 * r


def _pinning_note(pinned: bool) -> str:
    if pinned:
        return (
            f"Pinning: every one-worker server runs on CPU {servers.SERVER_CPU} only and the load "
            f"generator on CPU {servers.CLIENT_CPU} (`sched_setaffinity`): the figures are one "
            "uvicorn worker on one core."
        )
    return "Pinning: not available here (needs Linux and 2+ CPUs); client and server share CPUs."

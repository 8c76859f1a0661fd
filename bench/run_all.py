"""Run every performance benchmark and rewrite its sections of BENCHMARKS.md.

    python -m bench.run_all                  # everything, ~7 minutes (`make bench`)
    python -m bench.run_all --only http      # one part (or several, comma-separated): see PARTS
    python -m bench.run_all --quick          # a fast smoke run (short cells, one round)

Run from the project root with the dev environment (it needs the `train` extra for
Keras and the training presets). The first run also builds two cached venvs under
/tmp (serving and training installs) and downloads TensorFlow for the latter.
Sections it owns are delimited by `<!-- bench-<part>:start/end -->`; the rest of
BENCHMARKS.md is left alone. Raw results (JSON) and server logs go to `--logs`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    engine_bench,
    envs,
    footprint,
    forecast_bench,
    http_bench,
    http_report,
    stack_profile,
    training_bench,
)
from bench.machine import load_average, probe
from bench.report import ROOT, table, write_section
from bench.workload import Model, default_model

PARTS = ("engine", "forecast", "http", "profile", "footprint", "training")
COMMAND = "make bench"  # = python -m bench.run_all
TARGETS = {  # the performance issue's; the goal past it stays 70 % of bare FastAPI
    "intervals": 50.0,  # predict with intervals, % of bare FastAPI's req/s at concurrency 8
    "p99": 2.0,  # predict p99 over bare p99 at concurrency 8, at most
    "one_forecast_us": 30.0,  # in process: pipeline + every member + 2 levels, at most
    "batch": 250_000.0,  # forecasts/s, 1,000 series per request, horizon 1, intervals on
    "batch_h12": 50_000.0,  # the same at horizon 12
    "rss_mib": 100.0,
    "ready_s": 1.5,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    parts = PARTS if args.only is None else tuple(args.only.split(","))
    if unknown := set(parts) - set(PARTS):
        _parser().error(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    logs = args.logs or Path(tempfile.gettempdir()) / f"lstm-forecast-bench-{_stamp()}"
    logs.mkdir(parents=True, exist_ok=True)
    machine, load_start, started = probe(), load_average(), time.monotonic()
    model = default_model(logs / "train.log")
    print(f"bench: model {model.version_dir}; logs in {logs}", file=sys.stderr)
    # Written first so that, in a new BENCHMARKS.md, the description precedes the tables.
    _machine_section(machine.describe(), load_start, "(run in progress)", parts, model)
    results = run_parts(parts, model, logs, args.quick, args.training_runs)
    (logs / "results.json").write_text(json.dumps(results, indent=1, default=str))
    minutes = (time.monotonic() - started) / 60
    end = f"{load_average()} at the end ({minutes:.1f} min)"
    _machine_section(machine.describe(), load_start, end, parts, model)
    print(f"bench: done in {minutes:.1f} min; raw results in {logs}", file=sys.stderr)
    return 0


def run_parts(
    parts: tuple[str, ...], model: Model, logs: Path, quick: bool, training_runs: int
) -> dict[str, Any]:
    """Run the chosen parts in order, writing each one's section as soon as it is done."""
    results: dict[str, Any] = {}
    judged: dict[str, Any] = {}
    if "engine" in parts:
        results["engine"] = _subprocess("engine_bench", model)
        _section(
            "engine", "Engine: one forecast and 10,000", engine_bench.render(results["engine"])
        )
    if "forecast" in parts:
        results["forecast"] = judged["forecast"] = _subprocess("forecast_bench", model)
        _section("forecast", "A forecast in process", forecast_bench.render(results["forecast"]))
    if {"http", "profile", "footprint"} & set(parts):
        venvs = {kind: envs.ensure(kind, logs / "venv.log") for kind in ("serve", "train")}
    if "http" in parts:
        plan = http_bench.Plan(rounds=1, duration=1.5) if quick else http_bench.Plan()
        results["http"] = http_bench.measure(
            model, venvs["serve"].python, sys.executable, logs, plan
        )
        lines, judged["http"] = http_report.render(results["http"])
        _section("http", "HTTP: throughput and latency", lines)
    if "profile" in parts:
        results["profile"] = stack_profile.measure(model, venvs["serve"].python, logs)
        _section("profile", "Where a predict's time goes", stack_profile.render(results["profile"]))
    if "footprint" in parts:
        starts = {"ours": 2, "peer": 1} if quick else {"ours": 5, "peer": 3}
        results["footprint"] = footprint.measure(
            model, venvs, sys.executable, logs, starts, 5_000 if quick else 100_000
        )
        lines, judged["footprint"] = footprint.render(results["footprint"])
        _section("footprint", "Start and footprint", lines)
    if "training" in parts:
        results["training"] = training_bench.measure(logs, training_runs)
        _section("training", "Training", training_bench.render(results["training"]))
    if {"forecast", "http", "footprint"} <= set(judged):
        lines = _targets(judged["http"], judged["footprint"], judged["forecast"])
        _section("targets", "Targets", lines)
    return results


def _machine_section(
    machine: list[str], load_start: str, load_end: str, parts: tuple[str, ...], model: Model
) -> None:
    write_section(
        "machine",
        [
            "## Performance benchmarks",
            "",
            f"Command: `{COMMAND}` (runs `python -m bench.run_all`, about 7 minutes; one "
            f"part: `python -m bench.run_all --only {'|'.join(PARTS)}`). Every "
            "comparison below is measured side by side in the same run; every figure is the "
            "median of repeated runs unless it says otherwise.",
            "",
            *machine,
            f"- Load average (1, 5, 15 min): {load_start} at the start, {load_end}; parts run: "
            f"{', '.join(parts)}. The machine is shared: a high load means noisy figures.",
            f"- Model: {model.describe()}",
        ],
    )


def _subprocess(module: str, model: Model) -> dict[str, Any]:
    """A benchmark in its own process: the engine's imports TensorFlow, the forecast's pins
    itself to one CPU."""
    command = [sys.executable, "-m", f"bench.{module}", "--version-dir", str(model.version_dir)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _targets(http: dict[str, Any], start: dict[str, Any], forecast: dict[str, Any]) -> list[str]:
    """Each target of the performance issue against what this run measured."""
    at8 = http["ratios"][8]
    seconds = forecast["seconds"]
    one = seconds["one series, horizon 1"]["forecast"] * 1e6

    def floor(case: str, series: int) -> str:
        """The network's own floor on this core (`bench.forecast_bench`), as forecasts/s."""
        return f"{series / seconds[case]['floor']:,.0f} /s"

    def bare_batch(horizon: int) -> str:
        """What bare FastAPI answers of the same batch body, as forecasts/s: the framework's
        own ceiling for the batch (`bench.bare_app`)."""
        return f"{http['bare_batch'][horizon]['forecasts_per_s']:,.0f} /s"

    rows = [
        _target(
            "`POST /v1/predict` (80 % and 95 % intervals) >= 50 % of bare FastAPI's req/s at"
            " concurrency 8",
            at8["intervals"],
            TARGETS["intervals"],
            "{:.0f} %",
        ),
        _target(
            "... p99 at most twice bare FastAPI's",
            at8["p99"],
            TARGETS["p99"],
            "{:.1f}x",
            lower=True,
        ),
        _target(
            "the same two against quiet bare FastAPI (uvicorn's access log off): req/s",
            at8["intervals_quiet"],
            TARGETS["intervals"],
            "{:.0f} %",
        ),
        _target(
            "... p99",
            at8["p99_quiet"],
            TARGETS["p99"],
            "{:.1f}x",
            lower=True,
        ),
        _target(
            "one forecast in process (pipeline, 5 members, 2 levels) <= 30 µs",
            one,
            TARGETS["one_forecast_us"],
            "{:.0f} µs",
            lower=True,
            limit=f"{seconds['one series, horizon 1']['floor'] * 1e6:.1f} µs",
        ),
        _target(
            "batch >= 250,000 forecasts/s (1,000 series, horizon 1, intervals, one core)",
            http["batch"][1]["forecasts_per_s"],
            TARGETS["batch"],
            "{:,.0f} /s",
            limit=floor("1,000 series, horizon 1", 1000),
            bare=bare_batch(1),
        ),
        _target(
            "... >= 50,000 at horizon 12",
            http["batch"][12]["forecasts_per_s"],
            TARGETS["batch_h12"],
            "{:,.0f} /s",
            limit=floor("1,000 series, horizon 12", 1000),
            bare=bare_batch(12),
        ),
        _target(
            "<= 100 MB resident per worker",
            start["rss_mib"],
            TARGETS["rss_mib"],
            "{:.0f} MiB after " + f"{start['soak_requests']:,} requests (VmRSS)",
            lower=True,
        ),
        _target(
            "ready within 1.5 s",
            start["ready_s"],
            TARGETS["ready_s"],
            "{:.2f} s (median)",
            lower=True,
        ),
    ]
    return [
        *table(
            [
                "target",
                "measured",
                "met",
                "bare FastAPI, same body and answer",
                "the network alone at this core's peak",
            ],
            rows,
        ),
        "",
        "From the tables above (same run). MB read as MiB. Where a target is missed, the"
        " profile below says where the time goes. The goal past these stays 70 % of bare"
        " FastAPI's req/s. The last two columns are limits. Bare FastAPI's: what the framework"
        " itself serves of the same batch body and answer, its own way (JSON in, validation,"
        " JSON out, no forecast); a target beyond it asks the service to outrun the framework"
        " it runs on. The network's: the hardware's limit for the forecasts (\"A forecast in"
        " process\", its floor row), the network's matrix products alone at this core's"
        " measured peak rate, with nothing around them; a target beyond it cannot be met by"
        " any implementation of this network on this core.",
    ]


def _target(
    label: str,
    value: float | None,
    goal: float,
    fmt: str,
    lower: bool = False,
    limit: str = "-",
    bare: str = "-",
) -> list[str]:
    if value is None:
        return [label, "not measured", "-", bare, limit]
    met = value <= goal if lower else value >= goal
    return [label, fmt.format(value), "yes" if met else "**no**", bare, limit]


def _section(key: str, title: str, lines: list[str]) -> None:
    command = f"`{COMMAND}`; this part alone: `python -m bench.run_all --only {key}`"
    if key == "targets":
        command = f"`{COMMAND}` (needs the http and footprint parts)"
    write_section(key, [f"### {title}", "", f"Command: {command}.", "", *lines])


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_all",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="short smoke run, noisy figures")
    parser.add_argument("--training-runs", type=int, default=1, help="runs per preset (1)")
    parser.add_argument("--logs", type=Path, help="directory for raw results and server logs")
    return parser


if __name__ == "__main__":
    sys.exit(main())

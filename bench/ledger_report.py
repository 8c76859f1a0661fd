"""The ledger benchmark's Markdown: overhead, what the ledger holds, ingest, accuracy, targets."""

from __future__ import annotations

import statistics
from typing import Any

from bench.ledger_db import NAMES as DATABASES
from bench.ledger_overhead import OFF
from bench.report import median, num, ratio, sig, table

TARGETS = {"ratio": 0.90, "ingest": 50_000.0, "accuracy_ms": 200.0}
NAMES = {OFF: "off", **DATABASES}


def cell_figures(runs: list[dict[str, Any]], off: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds; the ratio to the ledger-off server is the median of each round's."""
    ratios = [run["rps"] / base["rps"] for run, base in zip(runs, off, strict=True) if base["rps"]]
    cpu = [r.get("cpu_us_per_request") for r in runs]
    return {
        "rps": median(r["rps"] for r in runs),
        "ratio": median(ratios),
        "p50_ms": median(r.get("p50_ms") for r in runs),
        "p99_ms": median(r.get("p99_ms") for r in runs),
        "cpu_us": median(cpu),
        "errors": sum(r["errors"] for r in runs),
        "settle_s": max((r["settle_s"] for r in runs if r["settle_s"] is not None), default=None),
    }


def overhead(result: dict[str, Any]) -> tuple[list[str], dict[tuple[str, str], Any]]:
    """The table, and each (workload, ledger) cell's figures."""
    rows, judged = [], {}
    for workload in result["workloads"]:
        cells = result["cells"][workload]
        per = _values_per_request(workload)
        for label, runs in cells.items():
            f = cell_figures(runs, cells[OFF])
            judged[(workload, label)] = f
            cpu_ratio = ratio(judged[(workload, OFF)]["cpu_us"], f["cpu_us"])
            rows.append(
                [
                    workload if label == OFF else "",
                    NAMES[label],
                    num(f["rps"], 1),
                    "1" if label == OFF else num(f["ratio"], 3),
                    num(f["rps"] and f["rps"] * per),
                    num(f["p50_ms"], 2, " ms"),
                    num(f["p99_ms"], 2, " ms"),
                    num(f["cpu_us"], 0, " µs"),
                    "" if label == OFF else num(cpu_ratio, 3),
                    "-" if f["settle_s"] is None else num(f["settle_s"], 2, " s"),
                    num(f["errors"]),
                ]
            )
    header = [
        "request",
        "ledger",
        "req/s",
        "on / off",
        "forecast values/s",
        "p50",
        "p99",
        "server CPU per request",
        "on / off, by CPU",
        "lag after the cell",
        "errors",
    ]
    return table(header, rows), judged


def _values_per_request(workload: str) -> int:
    if not workload.startswith("batch"):
        return 1
    series = int(workload.split(" of ")[1].split(" ")[0].replace(",", ""))
    return series * int(workload.split("h=")[1].split(",")[0])


def counts(result: dict[str, Any]) -> list[str]:
    rows = []
    for label, c in result["counts"].items():
        every = c["served"] == c["recorded"] == c["values"] == c["rows"] and not c["dropped"]
        per_value = 1e6 * c["expand_s"] / c["packed"] if c["packed"] else None
        rows.append(
            [
                NAMES[label],
                num(c["served"]),
                num(c["recorded"]),
                num(c["values"]),
                num(c["dropped"]),
                num(c["rows"]),
                f"{num(c['expand_s'], 2, ' s')} ({num(per_value, 1, ' µs')} a value)",
                "yes" if every else "**no**",
            ]
        )
    header = ["ledger", "forecast values served", "recorded (metric)", "values in the database"]
    header += ["dropped (metric)", "`forecasts` rows, expanded", "`expand` took", "all recorded"]
    return table(header, rows)


def ingest(result: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    rows, judged = [], {}
    for label, run in result["runs"].items():
        posts = run["post_s"]
        rate = run["expected"] / sum(posts)
        judged[label] = rate
        rows.append(
            [
                label,
                num(run["stored"]),
                num(rate),
                num(1000 * statistics.median(posts), 0, " ms"),
                num(1000 * max(posts), 0, " ms"),
                num(run["forecasts"]),
                num(run["scored"])
                if run["scored"] == run["forecasts"]
                else f"**{run['scored']:,}**",
                num(run["scored_after_last_post_s"], 2, " s"),
                _written_first(run),
            ]
        )
    header = ["database, ledger", "observations stored", "observations/s", "post p50", "slowest"]
    header += ["forecasts recorded first", "forecasts scored", "all scored, after the last ack"]
    header += ["recording them first: `record_served`, `expand`"]
    return table(header, rows), judged


def _written_first(run: dict[str, Any]) -> str:
    if not run["forecasts"] or run.get("expand_s") is None:
        return "-"
    per_value = 1e6 * run["expand_s"] / run["forecasts"]
    fill, expand = num(run["fill_s"], 2, " s"), num(run["expand_s"], 2, " s")
    return f"{fill}, {expand} ({num(per_value, 1, ' µs')} a value)"


def accuracy(result: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    rows, judged = [], {}
    for label, run in result["runs"].items():
        if "accuracy" not in run:
            continue
        database = label.split(",")[0]
        whole, one = run["accuracy"]["model"], run["accuracy"]["series"]
        judged[database] = whole["median_ms"]
        rows.append(
            [
                database,
                num(whole["n"]),
                num(whole["median_ms"], 1, " ms"),
                num(1000 * max(whole["seconds"]), 1, " ms"),
                num(one["median_ms"], 1, " ms"),
                num(whole["anomalies"]),
                sig(whole["coverage_95"]),
            ]
        )
    header = ["database", "forecasts scored", "all series: median", "slowest", "one series: median"]
    return table([*header, "anomalies", "95 % coverage"], rows), judged


def targets(
    over: dict[tuple[str, str], Any], ingested: dict[str, float], answered: dict[str, float]
) -> list[str]:
    rows = []
    for (workload, label), f in over.items():
        if label != OFF and ("h=12" not in workload):
            by_cpu = ratio(over[(workload, OFF)]["cpu_us"], f["cpu_us"])
            note = "" if by_cpu is None else f" (by server CPU {by_cpu:.3f})"
            rows.append(
                _row(
                    f"{workload}, {NAMES[label]}: req/s on / off >= {TARGETS['ratio']:.2f}",
                    f["ratio"],
                    TARGETS["ratio"],
                    "{:.3f}" + note,
                )
            )
    for label, rate in ingested.items():
        rows.append(_row(f"ingest, {label}: >= 50,000 obs/s", rate, TARGETS["ingest"], "{:,.0f}"))
    for database, ms in answered.items():
        label = f"`GET /accuracy`, {database}: <= 200 ms"
        rows.append(_row(label, ms, TARGETS["accuracy_ms"], "{:.1f} ms", lower=True))
    return table(["target", "measured", "met"], rows)


def _row(label: str, value: float | None, goal: float, fmt: str, lower: bool = False) -> list[str]:
    if value is None:
        return [label, "not measured", "-"]
    met = value <= goal if lower else value >= goal
    return [label, fmt.format(value), "yes" if met else "**no**"]

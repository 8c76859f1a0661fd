"""The ledger's benchmark: its cost on forecasts by id, ingest of actuals, the accuracy query.

    python -m bench.ledger            # everything, SQLite and PostgreSQL side by side
    python -m bench.ledger --quick    # a one-minute smoke run (short cells, 2 months)

Run from the project root in the dev environment. It serves a 10,000-series catalog
model (`bench.ledger_model`: trained once, about two minutes, cached under /tmp), runs
the service as deployed (`python -m app`, one worker pinned to one CPU; the load
generator, this process and PostgreSQL on the other) and measures, in one run:

1. overhead (`bench.ledger_overhead`): forecasts by id, one per request at concurrency 8
   and 1,000 per batch, with the ledger off, on SQLite and on PostgreSQL, side by side;
   then whether every forecast served is in the database;
2. ingest and accuracy (`bench.ledger_ingest`): months of actuals for every series
   posted in batches into fresh ledgers, without and with forecasts recorded for them
   (scored by the background pass), then `GET /v1/models/{name}/accuracy` on 10,000
   series x the months recorded;
3. where the time goes (`bench.ledger_costs`): the ledger's write paths timed in process.

PostgreSQL is the test suite's throwaway server (`tests/pgkit.py`, Debian's binaries);
without it only SQLite is measured. The figures replace BENCHMARKS.md's `ledger`
section; raw results (JSON), server logs and the databases go to a directory under /tmp
(the databases are deleted at the end unless `--keep-databases`); `--render
RESULTS.json` writes a saved run's section again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ledger_costs, ledger_ingest, ledger_overhead, ledger_report, servers
from bench.ledger_db import POSTGRES, SQLITE, Databases, postgres
from bench.ledger_model import catalog
from bench.machine import load_average, probe
from bench.report import write_section

COMMAND = "python -m bench.ledger"
COST_ROUNDS = 3
QUICK = (
    ledger_overhead.Plan(duration=1.0, warmup=0.3, rounds=1),
    ledger_ingest.Plan(months=2, accuracy_calls=3),
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render is not None:  # a saved run's section, written again
        saved = json.loads(args.render.read_text())
        write_section("ledger", render(saved, saved["machine"], args.render.parent))
        return 0
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    logs = args.logs or Path(tempfile.gettempdir()) / f"lstm-forecast-bench-ledger-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    machine, load_start, started = probe(), load_average(), time.monotonic()
    model = catalog(logs / "train.log")  # first run only: training uses every CPU
    if servers.CLIENT_CPU is not None:  # PostgreSQL, started from here, runs here too
        os.sched_setaffinity(0, {servers.CLIENT_CPU})
    print(f"bench ledger: model {model.version_dir}; logs in {logs}", file=sys.stderr)
    over_plan, ingest_plan = QUICK if args.quick else (ledger_overhead.Plan(), ledger_ingest.Plan())
    results: dict[str, Any] = {"quick": args.quick, "pinned": servers.PINNING}
    with ExitStack() as stack:
        server = None if args.no_postgres else stack.enter_context(postgres(logs / "pg"))
        kinds = [SQLITE] + ([POSTGRES] if server else [])
        databases = Databases(logs / "db", server)
        results["overhead"] = ledger_overhead.measure(model, databases, kinds, logs, over_plan)
        results["ingest"] = ledger_ingest.measure(model, databases, kinds, logs, ingest_plan)
        rounds = 1 if args.quick else COST_ROUNDS
        results["costs"] = ledger_costs.measure(model, databases, kinds, rounds)
    minutes = (time.monotonic() - started) / 60
    results |= {"minutes": minutes, "model": model.describe(), "load": [load_start, load_average()]}
    results["machine"] = machine.describe()
    results["plans"] = {"overhead": asdict(over_plan), "ingest": asdict(ingest_plan)}
    (logs / "results.json").write_text(json.dumps(results, indent=1, default=str))
    if not args.keep_databases:  # gigabytes after a full run; the logs stay
        shutil.rmtree(logs / "db", ignore_errors=True)
        shutil.rmtree(logs / "pg" / "data", ignore_errors=True)
    lines = render(results, results["machine"], logs)
    write_section("ledger", lines)
    print("\n".join(lines))
    print(f"bench ledger: done in {minutes:.1f} min; raw results in {logs}", file=sys.stderr)
    return 0


def render(results: dict[str, Any], machine: list[str], logs: Path) -> list[str]:
    over, ingest = results["overhead"], results["ingest"]
    over_plan, ingest_plan = results["plans"]["overhead"], results["plans"]["ingest"]
    over_lines, over_judged = ledger_report.overhead(over)
    ingest_lines, ingested = ledger_report.ingest(ingest)
    accuracy_lines, answered = ledger_report.accuracy(ingest)
    quick = " **A `--quick` smoke run: noisy figures.**" if results["quick"] else ""
    cpu = "CPU 0 for the service, CPU 1 for the load generator, this process and PostgreSQL"
    return [
        f"Command: `{COMMAND}{' --quick' if results['quick'] else ''}` (this run took "
        f"{results['minutes']:.1f} minutes). Raw results: `{logs}/results.json`.{quick}",
        "",
        *machine,
        f"- Load average (1, 5, 15 min): {results['load'][0]} at the start, {results['load'][1]}"
        " at the end. The machine is shared: a high load means noisy figures.",
        f"- Model: {results['model']}",
        f"- Every server is `python -m app` as deployed, one uvicorn worker, the JSON access "
        f"log on, an API key on every request; {cpu}"
        + ("." if results["pinned"] else " (not pinned: fewer than 2 CPUs)."),
        "",
        "### Forecasts by id with the ledger off and on",
        "",
        f"Each cell {over_plan['warmup']} s of warm-up then {over_plan['duration']} s measured, "
        f"{over_plan['rounds']} round(s) visiting every cell with the servers in a rotated "
        "order, medians over rounds; on / off is the median of each round's ratio. `predict`"
        " names one series (the same every request: the load generator sends one body); a"
        " batch names 1,000, each forecast with the default 80 % and 95 % bands. The lag is"
        " the longest wait, after a cell, until the server's metrics counted every forecast"
        " value served as recorded.",
        "",
        *over_lines,
        "",
        "After the run, every forecast value served (the servers' `forecast_forecast_values`)"
        " against what the ledger says it recorded and dropped (`forecast_ledger_forecasts_"
        "recorded`, `_dropped`), the values its database holds (the service writes each"
        " answer packed in one `served` row; none is expanded yet, no actuals having"
        " arrived), and the `forecasts` rows once the benchmark has expanded them all"
        " (`Ledger.expand`, one call, timed):",
        "",
        *ledger_report.counts(over),
        "",
        "### Actuals posted back",
        "",
        f"{ingest['observations']:,} observations ({ingest['series']:,} series x "
        f"{ingest['months']} months) through `POST /v1/models/{{name}}/observations`, "
        f"{ingest['posts']} sequential posts of {ingest['post_rows']:,} rows (largest body "
        f"{ingest['largest_body_bytes'] / 2**20:.2f} MiB; the default body limit is 1 MiB),"
        " into a fresh ledger each: without forecasts, and with a one-step forecast recorded"
        " first for each of those series and months (as the service records them: one"
        " answer of every series per month, packed, `Ledger.record_served`; then"
        " `Ledger.expand` into one `forecasts` row per value), which the background pass"
        " scores while the posts go on. Observations/s is rows over the posts' summed wall"
        " time as the client saw it.",
        "",
        *ingest_lines,
        "",
        "### Live accuracy",
        "",
        f"`GET /v1/models/{{name}}/accuracy` on the ledger above that holds "
        f"{ingest['series']:,} series x {ingest['months']} months of scored one-step "
        f"forecasts: {ingest_plan['accuracy_calls']} calls one after another, all series "
        "(the answer the page and the gauges use), then one series (`?series_id=`).",
        "",
        *accuracy_lines,
        "",
        "### Targets",
        "",
        *ledger_report.targets(over_judged, ingested, answered),
        "",
        "### Where the ledger's time goes",
        "",
        "The ledger's write paths called directly in the benchmark's process (`bench."
        "ledger_costs`), on a fresh ledger of each database: CPU time of this process (all"
        " of SQLite's work; the service's own share of PostgreSQL's) and wall time, per"
        " forecast value or row, median over rounds. For scale: serving a forecast value"
        " costs the server CPU per request over the values per request in the first table.",
        "",
        *ledger_costs.render(results["costs"]),
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one-minute smoke run, noisy")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--logs", type=Path, help="directory for raw results, logs, databases")
    parser.add_argument("--keep-databases", action="store_true", help="keep them under --logs")
    parser.add_argument("--render", type=Path, help="only rewrite the section from a results.json")
    return parser


if __name__ == "__main__":
    sys.exit(main())

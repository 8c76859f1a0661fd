"""Item 5: Schemathesis against the live server's own `/openapi.json`, every check, no API keys.

The CLI runs all four phases (schema examples, coverage of boundaries and of
wrong methods, property-based fuzzing, stateful sequences built from the
schema's links and the names learned from responses) with up to
`RELIABILITY_FUZZ_EXAMPLES` (200) cases per operation, and exits non-zero on any
failed check. On top of its exit status this test reads the run's NDJSON events
to prove every documented operation was exercised, and the server's JSON log to
prove no request ended in a 5xx or a traceback.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from liveserver import ROOT
from reliability_kit import run_app

HERE = Path(__file__).parent
EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "200"))
SEED = os.environ.get("RELIABILITY_FUZZ_SEED")  # set it to replay a failing run
TIME_LIMIT = 300  # seconds; the run takes about one minute on two shared cores


def schemathesis_command(url: str, events: Path) -> list[str]:
    command = [sys.executable, "-m", "schemathesis.cli", "--no-color"]
    command += ["--config-file", str(HERE / "schemathesis.toml"), "run", f"{url}/openapi.json"]
    command += ["--checks", "all"]
    command += ["--max-examples", str(EXAMPLES), "--workers", "1", "--continue-on-failure"]
    command += ["--request-timeout", "10", "--report", "ndjson"]
    command += ["--report-ndjson-path", str(events)]
    return command + (["--seed", SEED] if SEED else [])


def cases_per_operation(events: Path) -> dict[str, collections.Counter[str]]:
    """`METHOD /path` -> cases per phase, from the run's ScenarioFinished events."""
    found: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in events.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished is None:
            continue
        for case in finished["recorder"].get("cases", {}).values():
            request = case["value"]
            found[f"{request['method']} {request['path']}"][finished["phase"]] += 1
    return found


def documented(spec: dict[str, Any]) -> dict[str, bool]:
    """`METHOD /path` -> whether the operation takes any input (parameters or a body)."""
    return {
        f"{method.upper()} {path}": bool(op.get("parameters") or op.get("requestBody"))
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    }


def test_schemathesis_finds_no_failure_on_any_operation(toy_models: Path, tmp_path: Path) -> None:
    env = {"FORECAST_MODEL_DIR": str(toy_models), "FORECAST_DEFAULT_MODEL": "toy"}
    events = tmp_path / "events.ndjson"
    with run_app(env, tmp_path / "server.log") as running:
        spec = httpx.get(f"{running.url}/openapi.json").json()
        hooks = {"SCHEMATHESIS_HOOKS": "schemathesis_hooks"}
        path = os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")])
        done = subprocess.run(
            schemathesis_command(running.url, events),
            cwd=tmp_path,  # its caches and reports stay out of the work tree
            env={**os.environ, **hooks, "PYTHONPATH": path},
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
        )
        records = running.records()
        alive = running.alive()
    summary = done.stdout[-6000:]
    print(summary)
    assert done.returncode == 0, f"schemathesis failed:\n{summary}\n{done.stderr[-2000:]}"
    assert alive
    tested = cases_per_operation(events)
    for operation, takes_input in documented(spec).items():
        assert operation in tested, f"{operation} was never exercised"
        if takes_input:
            assert tested[operation]["fuzzing"] >= EXAMPLES, (operation, tested[operation])
    print_table(tested, documented(spec))
    errors = [r for r in records if r.get("status", 0) >= 500 or "exc" in r]
    assert errors == [], errors[:5]


def print_table(tested: dict[str, collections.Counter[str]], operations: dict[str, bool]) -> None:
    """Cases per documented operation and phase: what the report quotes."""
    total = 0
    for operation in sorted(operations):
        phases = tested[operation]
        total += sum(phases.values())
        print(f"{operation:52} {sum(phases.values()):5} {dict(sorted(phases.items()))}")
    print(f"{len(operations)} documented operations, {total} cases on them")

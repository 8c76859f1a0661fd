"""Serving a catalog: how fast a many-series version is ready, its memory, forecasts by id.

    python -m bench.panel_serving --version models/synth10k/1 [--replicas 10] [--duration 10]

For the version given (a trained many-series version) and, with `--replicas k`, the same
version with its series table repeated k times under new ids (100,000 series from 10,000:
the network and calibration are the trained ones, the table k times larger, every hash
rewritten by the project's own writer), it starts the service as deployed (`python -m
app`, one worker pinned to one core) and reports the seconds to ready and the resident
memory once ready. On the first, it then drives `POST /v1/models/{name}/predict/batch`
with 1,000 ids, horizon 1 and the default intervals, side by side, in the same run, with
the same 1,000 series posted as values (their stored histories): the alternative a client
has without ids. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from app.contract.manifest import ModelCard
from app.contract.series import HISTORIES_FILE, SERIES_FILE, histories_bytes
from app.contract.store import read_manifest, read_version
from app.contract.writer import write_version
from bench import servers
from bench.loadgen import run_sync
from bench.loadgen_wire import Target

BATCH = 1_000
CONCURRENCY = 4


def replicate(version_dir: Path, models_dir: Path, replicas: int) -> Path:
    """The version with its series repeated `replicas` times (ids `<id>~<k>`), written anew."""
    manifest = read_manifest(version_dir)
    table = json.loads((version_dir / SERIES_FILE).read_text())
    histories = read_version(version_dir).series
    assert histories is not None and manifest.series is not None
    info = manifest.series

    def grown(column: Any) -> Any:
        if isinstance(column, dict):
            return {key: grown(value) for key, value in column.items()}
        return column * replicas

    bigger = {key: grown(value) for key, value in table.items()}
    bigger["ids"] = [f"{sid}~{k}" for k in range(replicas) for sid in table["ids"]]
    name = f"{manifest.name}-x{replicas}"

    def build(directory: Path, version: int) -> dict[str, Any]:
        for file in manifest.files:
            if file not in (SERIES_FILE, HISTORIES_FILE):
                shutil.copyfile(version_dir / file, directory / file)
        (directory / SERIES_FILE).write_text(json.dumps(bigger))
        matrix = np.tile(histories.histories, (replicas, 1))
        (directory / HISTORIES_FILE).write_bytes(histories_bytes(matrix))
        fields = manifest.model_dump(include=set(ModelCard.model_fields) - {"version"})
        series = info.model_copy(update={"count": len(bigger["ids"])})
        return fields | {
            "name": name,
            "networks": manifest.networks,
            "calibration": manifest.calibration,
            "libraries": manifest.libraries,
            "series": series,
        }

    return write_version(models_dir, name, build)


def start_and_measure(models_dir: Path, name: str, logs: Path) -> dict[str, Any]:
    """Seconds from spawn to ready, and resident memory once ready."""
    env = _env(models_dir, name)
    with servers.serve(
        name, servers.service(sys.executable), env, logs, port_env=servers.SERVICE_PORT_ENV
    ) as server:
        return {
            "series": len(read_version(_newest(models_dir / name)).series or ()),
            "seconds_to_ready": round(server.seconds_to_ready, 2),
            "rss_mib": round(server.rss_mib() or 0.0, 1),
        }


def by_id_against_values(
    models_dir: Path, name: str, logs: Path, duration: float
) -> dict[str, Any]:
    """Forecasts per second, 1,000 series per request, by id and as posted values."""
    table = read_version(_newest(models_dir / name)).series
    assert table is not None
    rows = np.arange(BATCH) % len(table)  # a table smaller than a batch is asked for again
    ids = [table.ids[r] for r in rows.tolist()]
    values = [row[~np.isnan(row)].tolist() for row in table.histories[rows]]
    bodies = {
        "by id": {"series_ids": ids, "horizon": 1},
        "as values": {"series": values, "horizon": 1},
    }
    env = _env(models_dir, name)
    out: dict[str, Any] = {}
    with servers.serve(
        name, servers.service(sys.executable), env, logs, port_env=servers.SERVICE_PORT_ENV
    ) as server:
        url = f"{server.url}/v1/models/{name}/predict/batch"
        for label, body in bodies.items():
            target = Target.build(url, json.dumps(body).encode())
            result = run_sync(
                target, CONCURRENCY, duration, warmup=2.0, server_pid=server.process.pid
            )
            summary = result.summary()
            rps, cpu_us = summary["rps"], summary["cpu_us_per_request"]
            out[label] = {
                "forecasts_per_s": round(rps * BATCH),
                "forecasts_per_cpu_s": round(BATCH * 1e6 / cpu_us) if cpu_us else None,
                "requests_per_s": round(rps, 1),
                "p50_ms": round(summary.get("p50_ms", 0.0), 1),
                "p99_ms": round(summary.get("p99_ms", 0.0), 1),
                "statuses": summary["statuses"],
                "body_bytes": len(json.dumps(body)),
            }
    return out


def _env(models_dir: Path, name: str) -> dict[str, str]:
    return {
        **servers.SERVICE_ENV,
        "FORECAST_MODEL_DIR": str(models_dir),
        "FORECAST_DEFAULT_MODEL": name,
        "FORECAST_LOG_LEVEL": "warning",
    }


def _newest(model_dir: Path) -> Path:
    return max((p for p in model_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.panel_serving", description=__doc__)
    parser.add_argument("--version", type=Path, required=True, help="a many-series version")
    parser.add_argument("--replicas", type=int, default=0, help="also its table x this")
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="panel-serving-") as tmp:
        models, logs = Path(tmp) / "models", Path(tmp) / "logs"
        logs.mkdir()
        name = read_manifest(args.version).name
        shutil.copytree(args.version, models / name / "1")
        report: dict[str, Any] = {"pinned": servers.PINNING, "batch": BATCH}
        report["start"] = [start_and_measure(models, name, logs)]
        if args.replicas > 1:  # in a models directory of its own: its memory alone
            bigger = replicate(args.version, Path(tmp) / "bigger", args.replicas)
            report["start"].append(start_and_measure(bigger.parents[1], bigger.parent.name, logs))
        report["throughput"] = by_id_against_values(models, name, logs, args.duration)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

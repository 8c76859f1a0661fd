"""What the benchmarks run on: the default model's version directory and the request bodies.

The model is the committed default (`models/<FORECAST_DEFAULT_MODEL or milk>/<newest>`).
Where it is not there yet, a model is trained once with the default preset into a
cache under /tmp and reused by later runs; BENCHMARKS.md names the model it used.
Bodies are built from the real milk series, so every request is a realistic one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.report import ROOT

DATA = ROOT.parent / "shared" / "data" / "monthly-milk-production-pounds-p.csv"
FALLBACK_MODELS = Path(tempfile.gettempdir()) / "lstm-forecast-bench-models"
TRAIN_TIMEOUT_S = 900
VALUES_PER_REQUEST = 36  # three years of monthly values: more than any preset needs


@dataclass(frozen=True)
class Model:
    """The version directory the benchmarks serve, and where it came from."""

    name: str
    models_dir: Path  # FORECAST_MODEL_DIR
    version_dir: Path
    origin: str  # "committed" or "trained for the benchmark (no committed model yet)"

    @property
    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.version_dir / "manifest.json").read_text())
        return manifest

    def describe(self) -> str:
        m = self.manifest
        layers = " + ".join(f"{x['kind']}({x['units']})" for x in m["architecture"]["layers"])
        members = m["architecture"].get("members", 1)
        pipe = m["pipeline"]
        kind = pipe.get("kind", "difference")
        return (
            f"`{self.name}` version {m['version']} ({self.origin}): {members} x {layers}, "
            f"{kind} pipeline, look_back {pipe['look_back']}, "
            f"preset `{m['training']['preset']}`, from `{self.version_dir}`"
        )


def default_model(log: Path) -> Model:
    """The committed default model, else a cached one trained with the default preset."""
    name = os.environ.get("FORECAST_DEFAULT_MODEL", "milk")
    committed = _newest(ROOT / "models" / name)
    if committed is not None:
        return Model(name, ROOT / "models", committed, "committed")
    trained = _newest(FALLBACK_MODELS / name)
    if trained is None:
        print(f"bench: no committed models/{name}; training one (once)", file=sys.stderr)
        train_model(FALLBACK_MODELS, name, "default", log)
        trained = _newest(FALLBACK_MODELS / name)
    if trained is None:
        raise RuntimeError(f"training wrote no version under {FALLBACK_MODELS / name}")
    return Model(name, FALLBACK_MODELS, trained, "trained for the benchmark: no committed model")


def train_model(models_dir: Path, name: str, preset: str, log: Path) -> Path:
    """`python -m training` with `preset` into `models_dir`; returns the new version dir."""
    command = [sys.executable, "-m", "training", "--data", str(DATA), "--preset", preset]
    command += ["--models-dir", str(models_dir), "--name", name, "--quiet"]
    with log.open("ab") as out:
        result = subprocess.run(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=out, timeout=TRAIN_TIMEOUT_S
        )
        out.write(result.stdout)
    if result.returncode != 0:
        raise RuntimeError(f"training failed ({result.returncode}); see {log}")
    return Path(result.stdout.decode().strip().splitlines()[-1])


def _newest(model_dir: Path) -> Path | None:
    if not model_dir.is_dir():
        return None
    versions = [p for p in model_dir.iterdir() if p.name.isdigit() and p.is_dir()]
    complete = [p for p in versions if (p / "manifest.json").is_file()]
    return max(complete, key=lambda p: int(p.name), default=None)


def milk_values() -> list[float]:
    """The real series, read by the project's own loader (it handles the file's quirks)."""
    from training.data import load_series

    return [float(v) for v in load_series(DATA).values]


def predict_body(values: list[float], levels: list[float] | None = None) -> dict[str, Any]:
    """The last three years of the series, horizon 1; `levels` None: the server's default
    (80 % and 95 % intervals), `[]`: none."""
    body: dict[str, Any] = {"values": values[-VALUES_PER_REQUEST:], "horizon": 1}
    return body if levels is None else {**body, "levels": levels}


def v2_body(values: list[float]) -> dict[str, Any]:
    """`predict_body`'s series and horizon as an Open Inference Protocol infer body (one row,
    default levels)."""
    row = values[-VALUES_PER_REQUEST:]
    tensor = {"name": "values", "shape": [1, len(row)], "datatype": "FP64", "data": row}
    return {"inputs": [tensor], "parameters": {"horizon": 1}}


def batch_body(values: list[float], series: int, horizon: int = 1) -> dict[str, Any]:
    """`series` different 36-month windows of the series (sliding, wrapping around)."""
    starts = range(len(values) - VALUES_PER_REQUEST + 1)
    windows = [values[s : s + VALUES_PER_REQUEST] for s in starts]
    return {"series": [windows[i % len(windows)] for i in range(series)], "horizon": horizon}


def write_bodies(
    directory: Path, batch_series: int = 1000, horizons: tuple[int, ...] = (1, 12)
) -> dict[str, Any]:
    """Write every request body once (the same bytes go to every server that takes it).

    Returns the predict body itself under "predict", and the files: "predict_file"
    (default levels: 80 % and 95 % intervals), "plain_file" (no intervals), "v2_file" (the
    predict body as a V2 infer) and "batch_h<h>_file" (`batch_series` series, default
    levels, horizon h).
    """
    values = milk_values()
    out: dict[str, Any] = {"predict": predict_body(values)}
    files = [("predict_file", out["predict"]), ("plain_file", predict_body(values, []))]
    for key, body in [*files, ("v2_file", v2_body(values))]:
        out[key] = directory / f"{key}.json"
        out[key].write_text(json.dumps(body))
    for h in horizons:
        out[f"batch_h{h}_file"] = directory / f"batch-{batch_series}-h{h}.json"
        out[f"batch_h{h}_file"].write_text(json.dumps(batch_body(values, batch_series, h)))
    return out

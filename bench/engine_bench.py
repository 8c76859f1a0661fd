"""Engine benchmark: the service's forward pass against Keras, on the same weights.

    python -m bench.engine_bench --version-dir models/milk/1     # prints JSON

Times one window and 10,000 windows through (a) `app.engine.archive.load_network(...).predict`,
as is (LSTM layers on the compiled kernel where the install built it), on the NumPy
engine alone (the kernel's reference), and with OpenBLAS limited to one thread, (b) Keras
`model.predict(x, verbose=0)` with its default batch size (32) and with the whole input as
one batch, and (c) calling the Keras model directly, `model(x)`; all read the version's first
ensemble member. Each figure
is the median of repeats, the methods taking turns (`bench.timing.interleaved`). Windows are
standard-normal values (the scale the model sees after standard scaling, fixed
seed); the largest engine-vs-Keras difference over them is reported as a check that
both compute the same function (both run in float32).
Runs in a subprocess of `run_all`, since it imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.layers import ENGINE
from bench.report import duration, num, ratio, table, version_dir_main
from bench.timing import interleaved

BATCHES = (1, 10_000)
REPEATS = {1: 7, 10_000: 5}
METHODS = (
    ("engine", "service engine: `Network.predict(x)`"),
    ("engine_numpy", "the same on NumPy alone: `Network.predict(x, compiled=False)`"),
    ("engine_1_thread", "service engine, BLAS limited to 1 thread (`threadpool_limits(1)`)"),
    ("keras_predict", "Keras `model.predict(x, verbose=0)` (batch_size 32)"),
    ("keras_predict_one_batch", "Keras `model.predict(x, batch_size=len(x), verbose=0)`"),
    ("keras_call", "Keras `model(x)` (direct call)"),
)


def measure(version_dir: Path) -> dict[str, Any]:
    """Seconds per call of every method for every batch size, and the parity check."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    from threadpoolctl import threadpool_limits

    from app.engine.archive import load_network

    # The first ensemble member: Keras and the engine then run the same one network.
    manifest = json.loads((version_dir / "manifest.json").read_text())
    path = version_dir / manifest["networks"][0]
    network = load_network(path.read_bytes(), str(path))
    model = keras.saving.load_model(path)
    look_back = network.look_back or 1
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((max(BATCHES), look_back, network.n_features))
    calls: dict[str, Callable[[np.ndarray], Any]] = {
        "engine": network.predict,
        "engine_numpy": partial(network.predict, compiled=False),
        "engine_1_thread": network.predict,
        "keras_predict": lambda x: model.predict(x, verbose=0),
        "keras_predict_one_batch": lambda x: model.predict(x, batch_size=len(x), verbose=0),
        "keras_call": lambda x: np.asarray(model(x, training=False)),
    }
    contexts = {"engine_1_thread": partial(threadpool_limits, 1)}
    seconds: dict[str, dict[str, float]] = {name: {} for name in calls}
    for batch in BATCHES:
        x = windows[:batch]
        bound = {name: partial(call, x) for name, call in calls.items()}
        for name, value in interleaved(bound, REPEATS[batch], contexts).items():
            seconds[name][str(batch)] = value
    diff = np.abs(network.predict(windows)[0] - model.predict(windows, verbose=0)).max()
    return {
        "seconds": seconds,
        "engine": ENGINE,
        "max_abs_diff_scaled": float(diff),
        "look_back": look_back,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": np.__version__,
    }


def render(result: dict[str, Any]) -> list[str]:
    """The engine table: time per call and how many times slower than the engine."""
    seconds = result["seconds"]
    rows = []
    for key, label in METHODS:
        cells = [label]
        for batch in BATCHES:
            value = seconds[key][str(batch)]
            slower = ratio(value, seconds["engine"][str(batch)])
            cells += [duration(value), "1x" if key == "engine" else _times(slower)]
        rows.append(cells)
    header = ["method", "1 window", "vs engine", "10,000 windows", "vs engine"]
    return [
        *table(header, rows),
        "",
        f"Keras {result['keras']} ({result['backend']} backend, float32), engine float32 "
        f"(LSTM layers: {result['engine']}) on NumPy {result['numpy']}; windows of "
        f"{result['look_back']} steps. Largest "
        f"engine-vs-Keras difference over the 10,000 windows: "
        f'{result["max_abs_diff_scaled"]:.1e} (scaled units). "vs engine" = time / engine\'s '
        "time (above 1x: slower than the engine; below: faster). Median of 7 repeats (1 window) "
        "and 5 (10,000 windows), each repeat about 0.2 s of calls after a warm-up call, the "
        "methods taking turns repeat by repeat. Not pinned: TensorFlow and NumPy (OpenBLAS) "
        "may use every core, except in the row limited to 1 thread.",
    ]


def _times(value: float | None) -> str:
    """`1,029x`, `12x`, `1.2x`, `0.31x`: slower than the engine above 1, faster below."""
    if value is None:
        return "-"
    return num(value, 0 if value >= 10 else 1 if value >= 1 else 2, "x")


def main(argv: list[str] | None = None) -> int:
    return version_dir_main("python -m bench.engine_bench", __doc__, measure, argv)


if __name__ == "__main__":
    sys.exit(main())

"""A whole forecast in process: what one series and 1,000 series cost without HTTP.

    python -m bench.forecast_bench --version-dir models/milk/3     # prints JSON

`Forecaster.predict` as the data plane calls it (pipeline, recursion, every ensemble
member, 80 % and 95 % intervals, range notes), for one series of 36 values at horizon
1 and for 1,000 series at horizons 1 and 12. Beside it, on the same rows, the parts
that bound it: the engine alone (the network's forward pass over the same number of
windows, once per step), the recursion stepped by the pipeline's own loop around the
network (the reference of the kernel's one-call recursion, `MemberMean.recurse`), and the
recursion computed the defining way (`stepwise_forecast`: re-deseasonalise the shifted row
after every step), so the gain of `SeasonalPipeline.forecast` is measured side by side.
Pinned to one CPU, OpenBLAS on one thread, as a serving worker runs; methods take turns
(`bench.timing.interleaved`), medians of 7 repeats.

The engine runs LSTM layers on the compiled kernel when the install built it; the NumPy
engine, its reference, is timed beside it. Below them, the core's floor for the network:
its multiply-adds at this core's rate for a large float32 matrix product, measured in the
same run, everything else free. No code computing this network on this core, compiled or
not, runs below it: it is the limit the engine's row is judged against.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from app.engine.layers import ENGINE
from app.engine.network import Network
from bench.report import duration, num, table, version_dir_main
from bench.timing import interleaved
from bench.workload import VALUES_PER_REQUEST, batch_body, milk_values

LEVELS = (80.0, 95.0)
CASES = (
    ("one series, horizon 1", 1, 1),
    ("1,000 series, horizon 1", 1000, 1),
    ("1,000 series, horizon 12", 1000, 12),
)


def measure(version_dir: Path) -> dict[str, Any]:
    """Seconds per call of each method in each case, and the largest stepwise difference."""
    from threadpoolctl import threadpool_limits

    from app.contract.pipeline import as_rows, stepwise_forecast
    from app.contract.seasonal import SeasonalPipeline
    from app.contract.series import pipeline_variant
    from app.forecaster import load_forecaster

    os.sched_setaffinity(0, {0})
    forecaster = load_forecaster(version_dir)
    values = milk_values()
    seconds: dict[str, dict[str, float]] = {}
    largest = 0.0
    with threadpool_limits(1):
        for label, series, horizon in CASES:
            histories = batch_body(values, series, horizon)["series"]
            rows = as_rows(histories, forecaster.pipeline.history_width)
            states = forecaster.normalisation(rows, None)
            assert states is not None, "the benchmark model has a series table"
            # The pipeline and scaler `forecast_by_row` gives these rows (all share one state).
            pipeline = forecaster.pipeline
            assert isinstance(pipeline, SeasonalPipeline), "the default recipe's pipeline"
            spec = pipeline_variant(pipeline, bool(states[0][0]), pipeline.network_weight)
            scaler = forecaster.verified.scaler.per_series(states[1])
            # The compiled members' mean runs the recursion in one call (`Recursion`); the
            # bound method has no `recurse`, so the pipeline steps its own loop around it.
            recursion = forecaster.network.member_mean or forecaster.network_mean
            predict = forecaster.network_mean
            windows = np.zeros((series, forecaster.pipeline.look_back, 1))
            reference = partial(forecaster.network.mean, compiled=False)
            calls: dict[str, Callable[[], Any]] = {
                "forecast": partial(forecaster.predict, histories, horizon, LEVELS),
                "recursion": partial(spec.forecast, rows, horizon, scaler, recursion),
                "loop": partial(spec.forecast, rows, horizon, scaler, predict),
                "stepwise": partial(stepwise_forecast, rows, horizon, spec, scaler, predict),
                "engine": partial(_steps, predict, windows, horizon),
                "reference": partial(_steps, reference, windows, horizon),
            }
            seconds[label] = interleaved(calls, 7)
            fast = spec.forecast(rows, horizon, scaler, recursion)
            slow = stepwise_forecast(rows, horizon, spec, scaler, predict)
            largest = max(largest, float(np.abs(fast - slow).max() / np.abs(slow).max()))
        rate = matmul_rate()
    flops = network_flops(forecaster.network, forecaster.pipeline.look_back)
    for label, series, horizon in CASES:
        seconds[label]["floor"] = horizon * series * flops / rate
    return {
        "seconds": seconds,
        "rate": rate,
        "multiply_adds": flops / 2,
        "members": forecaster.network.members,
        "engine": ENGINE,
        "largest_relative_difference": largest,
        "values_per_series": VALUES_PER_REQUEST,
        "numpy": np.__version__,
    }


def network_flops(network: Network, steps: int) -> float:
    """Floating-point operations of the products of one window through every member.

    An LSTM step is one product of the gates' weights with [h; x; 1], but the first, where h
    is 0, needs only [x; 1] (the kernel skips the rest); a Dense layer is one product. The
    activations are left out: a floor must hold whatever they cost.
    """
    from app.engine.layers import LSTM

    flops = 0.0
    for layer in network.layers:
        if isinstance(layer, LSTM):
            u, k = layer.units, layer.inputs
            flops += layer.members * 2 * 4 * u * ((steps - 1) * (u + k + 1) + k + 1)
        else:
            flops += layer.members * 2 * layer.inputs * layer.units
    return flops


def matmul_rate() -> float:
    """Float32 FLOP/s of a 1,024-square matrix product (OpenBLAS), best of 5."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((1024, 1024), dtype=np.float32) for _ in range(2))
    product = np.empty_like(a)
    return 2 * 1024**3 / min(_seconds(partial(np.matmul, a, b, out=product)) for _ in range(5))


def _seconds(call: Callable[[], Any], repeats: int = 10) -> float:
    call()
    started = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - started) / repeats


def _steps(predict: Callable[[np.ndarray], Any], windows: np.ndarray, horizon: int) -> None:
    for _ in range(horizon):
        predict(windows)


ROWS = (
    ("forecast", "whole forecast: `Forecaster.predict`, 80 % and 95 % intervals"),
    ("recursion", "its recursion: `SeasonalPipeline.forecast` (pipeline + network)"),
    ("loop", "the same, stepped by the pipeline's loop around the network, its reference"),
    ("stepwise", "the same recursion the defining way: `stepwise_forecast`"),
    ("engine", "the network alone: `Network.mean`, the members' mean, once per step"),
    ("reference", "the same on the NumPy engine, the compiled kernel's reference"),
    ("floor", "the core's floor for the network: its products at this core's peak rate"),
)


def render(result: dict[str, Any]) -> list[str]:
    """Per case: time per call and forecasts per second of every method."""
    header = ["method", *[label for label, _, _ in CASES]]
    rows = []
    for key, description in ROWS:
        cells = [description]
        for label, series, _ in CASES:
            value = result["seconds"][label][key]
            cells.append(f"{duration(value)} ({num(series / value, 0)} /s)")
        rows.append(cells)
    return [
        *table(header, rows),
        "",
        f"Each cell: time per call (series forecast per second). Series of "
        f"{result['values_per_series']} values from the milk series (sliding windows), pinned "
        "to CPU 0 with OpenBLAS on one thread, as a serving worker runs; median of 7 repeats "
        "of about 0.2 s, the methods taking turns. The recursion computed both ways agrees "
        f"to {result['largest_relative_difference']:.1e} (largest relative difference). "
        f"NumPy {result['numpy']}.",
        "",
        f"LSTM layers ran on: {result['engine']} (`app.engine.layers.ENGINE`). The floor is "
        "computed, not run: the network's matrix products (its multiply-adds, "
        f"{result['multiply_adds']:,.0f} per window over the {result['members']} members, the "
        "first step's recurrent product left out, as h is 0 there) at this core's rate for a "
        "1,024-square "
        f"float32 product ({result['rate'] / 1e9:.0f} GFLOP/s, one thread, OpenBLAS, best of "
        "5, measured in this run). The activations, memory traffic, the recursion and "
        "everything around the network are free in it, so no code computing this network "
        "on this core runs below it.",
    ]


def main(argv: list[str] | None = None) -> int:
    return version_dir_main("python -m bench.forecast_bench", __doc__, measure, argv)


if __name__ == "__main__":
    sys.exit(main())

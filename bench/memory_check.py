"""Which memory of the season forecasts better? Checked inside training parts, pipeline alone.

Run as `python -m bench.memory_check` from the project root; seconds. It prints a
Markdown table and touches no file.

The protocol of `bench.calibration_check`, nested inside each training part so the test
parts stay unseen: the first 67 % of a panel series' training part plays the training
part and the rest plays the test part; for the employment panel the 24 months before its
test part play it. On the stand-in test part the pipeline alone (no network: the seasonal
index, the last deseasonalised value, the drift) forecasts one step ahead with the short
memory (m = 0), the long one (m = 1), and the m training would choose on the stand-in
training part (`training.memory.with_memory`: per series, and pooled over the panel).
Figures are RMSE relative to the short memory's, the product's before the long one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from app.contract.pipeline import Pipeline
from app.contract.seasonal import SeasonalPipeline
from app.contract.series import normalisation
from bench.accuracy import DATA, PANEL
from bench.panel_accuracy import DATA as EMPLOYMENT
from training.data import load_series
from training.memory import with_memory
from training.presets import DEFAULT

STAND_IN = 24  # months of the employment panel's stand-in test part


def seasonal(pipeline: Pipeline) -> SeasonalPipeline:
    """The default recipe's pipeline, typed as what it is."""
    if not isinstance(pipeline, SeasonalPipeline):
        raise TypeError(f"the default recipe's pipeline is seasonal, not {pipeline!r}")
    return pipeline


def stand_in_rmse(pipeline: SeasonalPipeline, values: np.ndarray, start: int) -> float:
    """The pipeline alone's one-step RMSE on values[start:], its drift fitted before start."""
    _, targets, change = pipeline.changes(values)
    fitted, scored = targets < start, targets >= start
    return float(np.sqrt(np.mean((change[scored] - change[fitted].mean()) ** 2)))


def ratios(pipeline: SeasonalPipeline, values: np.ndarray, start: int, m: float) -> list[float]:
    """RMSE of the long memory and of `m`, each relative to the short memory's."""
    short = stand_in_rmse(dataclasses.replace(pipeline, long_weight=0.0), values, start)
    return [
        stand_in_rmse(dataclasses.replace(pipeline, long_weight=w), values, start) / short
        for w in (1.0, m)
    ]


def main() -> int:
    print("| series | m chosen | long / short | chosen / short |")
    print("|---|---:|---:|---:|")
    for name, file in PANEL.items():
        series = load_series(DATA / file)
        season = series.frequency.season_length
        if season == 1:
            continue  # no season to remember
        train = series.values[: int(len(series.values) * 0.67)]
        start = int(len(train) * 0.67)
        pipeline = seasonal(DEFAULT.for_season(season).pipeline_for(train[:start]))
        m = with_memory(pipeline, [train[:start]]).long_weight
        long, chosen = ratios(pipeline, train, start, m)
        print(f"| {name} | {m:.2f} | {long:.3f} | {chosen:.3f} |")
    frame = pd.read_csv(EMPLOYMENT)
    panel = [g["employed"].to_numpy(np.float64)[:-STAND_IN] for _, g in frame.groupby("series_id")]
    spec = seasonal(DEFAULT.for_season(12).spec)
    pooled = with_memory(spec, [v[:-STAND_IN] for v in panel]).long_weight
    own, shared = [], []
    for values in panel:
        start = len(values) - STAND_IN
        pipeline = dataclasses.replace(spec, log=normalisation(spec, values[:start])[0])
        m = with_memory(pipeline, [values[:start]]).long_weight
        own.append(ratios(pipeline, values, start, m))
        shared.append(ratios(pipeline, values, start, pooled)[1])
    gm = np.exp(np.log(np.array(own)).mean(axis=0))
    together = np.exp(np.log(shared).mean())
    print(f"| employment, each series its own m (geometric mean) | - | {gm[0]:.3f} | {gm[1]:.3f} |")
    print(f"| employment, one pooled m (as trained) | {pooled:.2f} | - | {together:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

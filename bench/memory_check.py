"""Which memories of the season and the level forecast better? Checked inside training parts.

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

A second table does the same for the flat memory, with m as chosen (no level): its share
of m's part at 0 (the product's before it), at 1, and the f training would choose (after
m). A third does it for the memory of the level, with m and f as chosen: the anchor u_t
(g = 0, the product's before the level), the level (g = 1), and the g training would
choose (`with_memory` chooses it last), for every series, the Nile's included.
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
from training.memory import Share, with_memory, with_share
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


def ratios(
    pipeline: SeasonalPipeline, values: np.ndarray, start: int, share: Share, chosen: float
) -> list[float]:
    """RMSE with the share at 1 and at `chosen`, each relative to the share at 0."""
    without = stand_in_rmse(with_share(pipeline, share, 0.0), values, start)
    return [
        stand_in_rmse(with_share(pipeline, share, w), values, start) / without
        for w in (1.0, chosen)
    ]


def table(share: Share, symbol: str, mine: str, theirs: str) -> None:
    """One Markdown table: the panel series, then the employment panel, for one share."""
    print(f"| series | {symbol} chosen | {mine} / {theirs} | chosen / {theirs} |")
    print("|---|---:|---:|---:|")
    for name, file in PANEL.items():
        series = load_series(DATA / file)
        season = series.frequency.season_length
        if season == 1 and share != "level_weight":
            continue  # no season to remember
        train = series.values[: int(len(series.values) * 0.67)]
        start = int(len(train) * 0.67)
        pipeline = seasonal(DEFAULT.for_season(season).pipeline_for(train[:start]))
        chosen = with_memory(pipeline, [train[:start]])
        before = _before(chosen, share)
        whole, picked = ratios(before, train, start, share, getattr(chosen, share))
        print(f"| {name} | {getattr(chosen, share):.2f} | {whole:.3f} | {picked:.3f} |")
    frame = pd.read_csv(EMPLOYMENT)
    panel = [g["employed"].to_numpy(np.float64)[:-STAND_IN] for _, g in frame.groupby("series_id")]
    spec = seasonal(DEFAULT.for_season(12).spec)
    pooled = with_memory(spec, [v[:-STAND_IN] for v in panel])
    own, shared = [], []
    for values in panel:
        start = len(values) - STAND_IN
        pipeline = dataclasses.replace(spec, log=normalisation(spec, values[:start])[0])
        chosen = with_memory(pipeline, [values[:start]])
        own.append(ratios(_before(chosen, share), values, start, share, getattr(chosen, share)))
        together = _before(dataclasses.replace(pooled, log=pipeline.log), share)
        shared.append(ratios(together, values, start, share, getattr(pooled, share))[1])
    gm = np.exp(np.log(np.array(own)).mean(axis=0))
    print(
        f"| employment, each series its own {symbol} (geometric mean) | - | {gm[0]:.3f} |"
        f" {gm[1]:.3f} |"
    )
    print(
        f"| employment, one pooled {symbol} (as trained) | {getattr(pooled, share):.2f} | - |"
        f" {np.exp(np.log(shared).mean()):.3f} |"
    )


def _before(chosen: SeasonalPipeline, share: Share) -> SeasonalPipeline:
    """What the share is chosen against: the seasonal memories with no level (m with no flat
    memory, f with m as chosen), the level with both."""
    if share == "level_weight":
        return chosen
    unlevelled = with_share(chosen, "level_weight", 0.0)
    return with_share(unlevelled, "flat_weight", 0.0) if share == "long_weight" else unlevelled


def main() -> int:
    print("The memory of the season:\n")
    table("long_weight", "m", "long", "short")
    print("\nThe flat memory of the season (m as chosen; f = 1 flat alone in m's part):\n")
    table("flat_weight", "f", "flat", "long")
    print("\nThe memory of the level (m and f as chosen):\n")
    table("level_weight", "g", "level", "last value")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

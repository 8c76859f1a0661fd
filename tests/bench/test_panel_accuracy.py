"""`bench.panel_accuracy` on a tiny generated panel: the calendar cutoff, the one-step scores of
every classical forecaster, the aggregates, the cache and the printed table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import panel_accuracy as pa
from training.panel import Panel, load_panel

SPANS = {  # series id -> (first month, months); the calendar ends in 2019-12
    "full": ("2015-01", 60),  # test part 2019-07..2019-12
    "ends-early": ("2016-01", 45),  # ends in 2019-09: 3 test points
    "too-new": ("2018-07", 18),  # 12 months before the cutoff: fewer than two seasons
    "ended": ("2015-01", 42),  # ends in 2018-06, before the cutoff: no test points
}


def write_panel(path: Path) -> Path:
    """Trend + season + noise per series, in long format with a text column (as employment)."""
    rng = np.random.default_rng(0)
    rows = []
    for k, (sid, (start, n)) in enumerate(SPANS.items()):
        t = np.arange(n)
        values = 100 * (k + 1) + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
        months = pd.period_range(start, periods=n, freq="M").astype(str)
        rows += [f"{sid},Industry {k},{m},{v:.3f}" for m, v in zip(months, values, strict=True)]
    path.write_text("\n".join(["series_id,title,month,employed", *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def panel(tmp_path_factory: pytest.TempPathFactory) -> Panel:
    return load_panel(
        write_panel(tmp_path_factory.mktemp("panel") / "p.csv"), id_column="series_id"
    )


def test_cutoff_is_one_calendar_date_and_unscorable_series_are_left_out(panel: Panel) -> None:
    assert pa.cutoff_split(panel, 6) == {"full": 54, "ends-early": 42}
    with pytest.raises(ValueError, match="test_periods"):
        pa.cutoff_split(panel, 0)


def test_reference_scores_every_forecaster_and_is_cached(
    panel: Panel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scores = pa.reference(panel, 6, cache=tmp_path, jobs=1)
    assert list(scores) == [pa.PERSISTENCE, pa.SEASONAL_NAIVE, pa.SARIMA, pa.AUTO_ETS]
    values = panel.series["ends-early"].values
    assert scores[pa.PERSISTENCE]["ends-early"].predicted == list(values[41:-1])
    assert scores[pa.SEASONAL_NAIVE]["full"].predicted == list(panel.series["full"].values[42:48])
    for per_series in scores.values():
        lengths = {sid: len(s.predicted) for sid, s in per_series.items()}
        assert lengths == {"full": 6, "ends-early": 3}
    sarima = scores[pa.SARIMA]["full"]
    assert set(sarima.intervals) == {80.0, 95.0} and sarima.seconds is not None
    assert sarima.mase < scores[pa.SEASONAL_NAIVE]["full"].mase  # the trend is learnt

    def refit(*_: object) -> None:
        raise AssertionError("refitted despite the cache")

    monkeypatch.setitem(pa.FITTED, pa.SARIMA, refit)
    monkeypatch.setattr(pa, "CACHE", tmp_path)
    assert pa.reference(panel, 6, cache=tmp_path) == scores
    assert pa.main(["--data", str(panel.source), "--test-periods", "6"]) == 0
    table = capsys.readouterr().out
    assert "2 of 4 series scored, test part 2019-07 to 2019-12 (6 periods, 9 points)" in table
    assert "| seasonal naive | 1.000 |" in table
    lines = table.splitlines()
    row = next(r for r in lines if r.startswith("| SARIMA(0,1,1)(0,1,1)12")).split(" | ")
    assert row[2] == "1.000" and row[4:6] == ["-", "-"]  # SARIMA against itself


def test_aggregate_takes_geometric_means_of_per_series_ratios() -> None:
    def scores(mase: float, rmse: float, inside: float | None = None) -> pa.SeriesScores:
        bands = (
            {80.0: pa.IntervalScores(coverage=inside, winkler=4.0)} if inside is not None else {}
        )
        return pa.SeriesScores(
            rmse=rmse, mae=mase * 2, mase=mase, scale=2.0, predicted=[0.0] * 4, intervals=bands
        )

    snaive = {"a": scores(1.0, 1.0), "b": scores(1.0, 1.0)}
    sarima = {"a": scores(0.5, 2.0), "b": scores(0.5, 2.0)}
    model = {"a": scores(2.0, 1.0, 1.0), "b": scores(0.5, 4.0, 0.5)}
    agg = pa.aggregate(model, snaive, sarima)
    assert agg.mase_ratio == pytest.approx(1.0)  # 2 and 1/2
    assert agg.rmse_ratio == pytest.approx(1.0)  # 1/2 and 2
    assert agg.mean_mase == pytest.approx(1.25)
    assert agg.better_than_sarima == 0.5 and agg.worst == ("b", 2.0)
    assert agg.intervals == {80.0: (0.75, 2.0)}  # pooled coverage; Winkler 4 / scale 2


def test_predictions_of_the_wrong_length_are_refused(panel: Panel) -> None:
    sizes = pa.cutoff_split(panel, 6)
    with pytest.raises(ValueError, match="'ends-early' has 3 test points, 6 forecasts"):
        pa.score_predictions(panel, sizes, {sid: np.zeros(6) for sid in sizes})

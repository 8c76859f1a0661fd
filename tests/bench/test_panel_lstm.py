"""`bench.panel_lstm`'s coverage spread over series: percentiles, the share of series close to
nominal, and the verdict on the pooled coverage, on made-up scores."""

from __future__ import annotations

import pytest

from bench import panel_lstm as pl
from bench.panel_accuracy import IntervalScores, SeriesScores


def scored(coverage: dict[float, float], points: int = 5) -> SeriesScores:
    intervals = {level: IntervalScores(coverage=c, winkler=1.0) for level, c in coverage.items()}
    return SeriesScores(
        rmse=1.0, mae=1.0, mase=1.0, scale=1.0, predicted=[0.0] * points, intervals=intervals
    )


def test_coverage_spread_gives_percentiles_and_the_share_within_eight_points() -> None:
    # 80 %: 0.70 and 0.90 are 10 points off; 0.72 and 0.88 are on the boundary, within
    found = [0.70, 0.72, 0.80, 0.88, 0.90]
    per_series = {f"s{k}": scored({80.0: c, 95.0: 0.95}) for k, c in enumerate(found)}
    spread, within, expected = pl.coverage_spread(per_series, 80.0)
    assert spread[2] == pytest.approx(0.80) and spread[0] == pytest.approx(0.708)
    assert within == pytest.approx(0.6)
    assert expected == pytest.approx(5 * 0.8**4 * 0.2)  # of 5 points, only 4 hits is close
    lines = pl.coverage_lines({"LSTM": per_series}, {80.0: 0.77, 95.0: 0.9})
    assert "| LSTM 80 % | 70.8% / 72.0% / 80.0% / 88.0% / 89.2% | 60.0% | 41.0% |" in lines
    assert (
        "| LSTM 95 % | 95.0% / 95.0% / 95.0% / 95.0% / 95.0% | 100.0% | 77.4% |" in lines
    )  # 0.95 ** 5
    assert lines[-1] == (
        "LSTM coverage pooled over every test point within 3 points of nominal:"
        " 80 % yes (77.0%), 95 % no (90.0%)."
    )

"""Frequency inference from period labels, and the one-line refusal of gaps and odd steps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from liveserver import ROOT

from app.contract.calendar import Frequency
from training.data import DataError, load_series

SHARED_DATA = ROOT.parent / "shared" / "data"


def csv(tmp_path: Path, labels: list[str], header: str = "period,value") -> Path:
    path = tmp_path / "series.csv"
    path.write_text(header + "\n" + "".join(f"{p},{i + 1}\n" for i, p in enumerate(labels)))
    return path


def dates(start: str, n: int, freq: str, fmt: str = "%Y-%m-%d") -> list[str]:
    return [d.strftime(fmt) for d in pd.date_range(start, periods=n, freq=freq)]


@pytest.mark.parametrize(
    ("labels", "frequency"),
    [
        ([str(1871 + i) for i in range(30)], Frequency.ANNUAL),
        ([f"{1990 + i // 4}-Q{i % 4 + 1}" for i in range(20)], Frequency.QUARTERLY),
        ([f"{1990 + i // 4}Q{i % 4 + 1}" for i in range(20)], Frequency.QUARTERLY),
        (dates("1990-01-01", 20, "QS", "%Y-%m"), Frequency.QUARTERLY),  # months 01/04/07/10
        (dates("1990-03-31", 20, "QE"), Frequency.QUARTERLY),  # quarter ends
        (dates("1962-01-01", 30, "MS", "%Y-%m"), Frequency.MONTHLY),
        (dates("2020-01-31", 30, "ME"), Frequency.MONTHLY),  # month ends: 28 to 31 days
        (dates("1962-01-01", 30, "MS", "%b %Y"), Frequency.MONTHLY),
        (dates("2021-01-04", 60, "W-MON"), Frequency.WEEKLY),
        (dates("2021-01-01", 60, "D"), Frequency.DAILY),
        (dates("1950-01-01", 30, "YS"), Frequency.ANNUAL),  # yearly dates, not bare years
    ],
    ids=lambda v: v.value if isinstance(v, Frequency) else str(v[0]),
)
def test_the_frequency_is_inferred_from_the_labels(
    tmp_path: Path, labels: list[str], frequency: Frequency
) -> None:
    series = load_series(csv(tmp_path, labels))
    assert series.frequency is frequency
    assert series.periods == tuple(labels) and len(series.values) == len(labels)


@pytest.mark.parametrize(
    ("name", "frequency"),
    [
        ("monthly-milk-production-pounds-p.csv", Frequency.MONTHLY),
        ("co2-mauna-loa-monthly.csv", Frequency.MONTHLY),
        ("elnino-sea-surface-temperature-monthly.csv", Frequency.MONTHLY),
        ("nile-annual-flow.csv", Frequency.ANNUAL),
    ],
)
def test_the_panel_series_have_the_frequency_their_readme_gives(
    name: str, frequency: Frequency
) -> None:
    if not (SHARED_DATA / name).is_file():
        pytest.skip(f"{SHARED_DATA / name} is not here")
    assert load_series(SHARED_DATA / name).frequency is frequency


def test_default_seasons_follow_the_calendar() -> None:
    seasons = {f: f.season_length for f in Frequency}
    assert seasons == {
        Frequency.ANNUAL: 1,
        Frequency.QUARTERLY: 4,
        Frequency.MONTHLY: 12,
        Frequency.WEEKLY: 52,
        Frequency.DAILY: 7,
    }


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            ["1962-01", "1962-02", "1962-04", "1962-05", "1962-06"],
            "line 4: gap or irregular step in the monthly series: 1962-04 follows 1962-02"
            " (line 3); expected 1962-03",
        ),
        (
            ["1871", "1872", "1873", "1875", "1876", "1877"],
            "line 5: gap or irregular step in the annual series: 1875 follows 1873 (line 4);"
            " expected 1874",
        ),
        (
            ["1990-Q1", "1990-Q2", "1990-Q4", "1991-Q1", "1991-Q2"],
            "line 4: gap or irregular step in the quarterly series: 1990-Q4 follows 1990-Q2"
            " (line 3); expected 1990-Q3",
        ),
        (
            [*dates("2021-01-01", 5, "D"), "2021-01-07", "2021-01-08"],
            "line 7: gap or irregular step in the daily series: 2021-01-07 follows 2021-01-05"
            " (line 6); expected 2021-01-06",
        ),
        (dates("2021-01-01", 8, "2D"), "periods are 2 day(s) apart; supported steps in days"),
        (dates("2021-01-01", 8, "2MS"), "periods are 2 month(s) apart"),
    ],
)
def test_gaps_and_odd_steps_are_refused_naming_the_first(
    tmp_path: Path, labels: list[str], message: str
) -> None:
    with pytest.raises(DataError) as refused:
        load_series(csv(tmp_path, labels))
    assert message in str(refused.value) and "\n" not in str(refused.value)

"""Periods counted and named without pandas: what serving dates forecasts with."""

from __future__ import annotations

import pytest

from app.contract.calendar import Frequency, ending_at, following, period_number


@pytest.mark.parametrize(
    ("last", "frequency", "after"),
    [
        ("2019-11", Frequency.MONTHLY, ["2019-12", "2020-01"]),
        ("2019-Q4", Frequency.QUARTERLY, ["2020-Q1", "2020-Q2"]),
        ("1999", Frequency.ANNUAL, ["2000", "2001"]),
        ("2020-02-28", Frequency.DAILY, ["2020-02-29", "2020-03-01"]),
        ("2019-12-30", Frequency.WEEKLY, ["2020-01-06", "2020-01-13"]),
    ],
)
def test_periods_count_and_name_the_calendar(
    last: str, frequency: Frequency, after: list[str]
) -> None:
    assert following(last, frequency, 2) == after
    assert ending_at(after[-1], frequency, 3) == [last, *after]


def test_a_date_names_the_period_holding_it_and_nonsense_is_refused() -> None:
    assert period_number("2019-07-15", Frequency.MONTHLY) == period_number(
        "2019-07", Frequency.MONTHLY
    )
    assert period_number("2019-08-01", Frequency.QUARTERLY) == period_number(
        "2019-Q3", Frequency.QUARTERLY
    )
    for bad in ("2019-13", "July 2019", "2019-02-30"):
        with pytest.raises(ValueError, match="is not"):
            period_number(bad, Frequency.MONTHLY)


def test_a_date_names_its_year_for_annual_series() -> None:
    assert period_number("1999-07-01", Frequency.ANNUAL) == period_number("1999", Frequency.ANNUAL)
    with pytest.raises(ValueError, match="is not a date"):
        period_number("99", Frequency.ANNUAL)

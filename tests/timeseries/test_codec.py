"""The translation between KServe's time-series terms and the data plane's: calendars,
periods and timestamps, quantiles and interval levels, queries, and answers KServe's own
`ForecastResponse` accepts."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tskit import kserve_response

from app.answers import Answer
from app.contract.calendar import Frequency
from app.errors import FieldError, InvalidInput, SeriesNotFound
from app.timeseries.codec import (
    CALENDARS,
    check_calendar,
    in_our_terms,
    level_of,
    levels_for,
    our_field,
    period_of,
    timestamp_of,
    to_queries,
    to_response,
)
from app.timeseries.plane import SeriesForecast, SeriesQuery
from app.timeseries.types import ForecastRequest, ForecastResponse, TimeSeriesFrequency

# --- quantiles and levels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantile", "level"), [(0.1, 80.0), (0.9, 80.0), (0.025, 95.0), (0.975, 95.0), (0.25, 50.0)]
)
def test_a_quantile_is_a_bound_of_the_central_interval(quantile: float, level: float) -> None:
    assert level_of(quantile) == level


def test_levels_are_asked_once_per_interval_and_never_for_the_median() -> None:
    assert levels_for([0.9, 0.1, 0.5, 0.025, 0.975]) == [80.0, 95.0]
    assert levels_for([0.5]) == levels_for(None) == []


@given(st.floats(min_value=1e-6, max_value=1 - 1e-6).filter(lambda q: q != 0.5))
def test_q_and_1_minus_q_share_one_level_strictly_inside_0_and_100(q: float) -> None:
    assert 0 < level_of(q) < 100
    assert level_of(q) == pytest.approx(level_of(1 - q), abs=1e-8)


# --- calendars, periods, timestamps -------------------------------------------------------------


def test_every_calendar_has_a_long_and_a_short_spelling() -> None:
    for calendar in Frequency:
        assert len([k for k, c in CALENDARS.items() if c is calendar]) == 2, calendar


@pytest.mark.parametrize("kind", ["month", "M"])
def test_the_models_calendar_passes_in_either_spelling(kind: str) -> None:
    check_calendar(TimeSeriesFrequency(kind), Frequency.MONTHLY, "toy", "inputs[0].frequency")


@pytest.mark.parametrize("kind", ["day", "hour", "Q", "S"])
def test_another_calendar_is_refused_naming_the_one_to_send(kind: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_calendar(TimeSeriesFrequency(kind), Frequency.MONTHLY, "toy", "inputs[1].frequency")
    assert refused.value.errors[0].field == "inputs[1].frequency"
    assert "model 'toy' forecasts a monthly series: send 'month' (or 'M')" in refused.value.message


@pytest.mark.parametrize(
    ("timestamp", "calendar", "period"),
    [
        ("2019-07-15T13:10:00Z", Frequency.MONTHLY, "2019-07"),
        ("2019-07-01", Frequency.MONTHLY, "2019-07"),
        ("2019-07", Frequency.MONTHLY, "2019-07"),
        ("2019-08-31T23:59:59+05:00", Frequency.QUARTERLY, "2019-Q3"),  # the date as written
        ("2019-Q3", Frequency.QUARTERLY, "2019-Q3"),
        ("2019-12-31T00:00:00Z", Frequency.ANNUAL, "2019"),
        ("2019", Frequency.ANNUAL, "2019"),
        ("2019-07-15T00:00:00Z", Frequency.DAILY, "2019-07-15"),
        ("2019-07-15", Frequency.WEEKLY, "2019-07-15"),
        ("20190715T000000Z", Frequency.DAILY, "2019-07-15"),
    ],
)
def test_a_timestamp_names_the_period_holding_it(
    timestamp: str, calendar: Frequency, period: str
) -> None:
    assert period_of(timestamp, calendar, "start") == period


@pytest.mark.parametrize("timestamp", ["yesterday", "2019-13", "2019-02-30", "", "2019-Q5"])
def test_what_is_no_timestamp_is_refused_at_its_field(timestamp: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        period_of(timestamp, Frequency.MONTHLY, "inputs[0].start_timestamp")
    assert refused.value.errors[0].field == "inputs[0].start_timestamp"
    assert "ISO 8601" in refused.value.message


@pytest.mark.parametrize(
    ("period", "timestamp"),
    [
        ("2020", "2020-01-01T00:00:00Z"),
        ("2020-Q3", "2020-07-01T00:00:00Z"),
        ("2020-02", "2020-02-01T00:00:00Z"),
        ("2020-02-29", "2020-02-29T00:00:00Z"),
    ],
)
def test_an_answer_starts_at_the_first_instant_of_its_period(period: str, timestamp: str) -> None:
    assert timestamp_of(period) == timestamp


@given(st.dates(min_value=date(1000, 1, 1)), st.sampled_from(list(Frequency)))
def test_a_periods_first_instant_names_the_period_again(day: date, calendar: Frequency) -> None:
    period = period_of(day.isoformat(), calendar, "start")
    assert period_of(timestamp_of(period), calendar, "start") == period


# --- queries ------------------------------------------------------------------------------------


def request(
    *names: str, start: str | None = "2000-01-01T00:00:00Z", quantiles: list[float] | None = None
) -> ForecastRequest:
    inputs = [
        {"type": "univariate_time_series", "name": n, "series": [1.0, 2.0] if n != "empty" else []}
        | {"frequency": "M"}
        | ({} if start is None else {"start_timestamp": start})
        for n in names
    ]
    options = {"horizon": 2, "quantiles": quantiles}
    return ForecastRequest.model_validate({"model": "toy", "inputs": inputs, "options": options})


def test_a_known_name_is_a_series_id_and_any_other_is_posted_values() -> None:
    queries = to_queries(
        request("store-7", "new", "empty"), Frequency.MONTHLY, {"store-7", "empty"}
    )
    assert queries == [
        SeriesQuery(series_id="store-7", values=[1.0, 2.0], start="2000-01"),
        SeriesQuery(values=[1.0, 2.0], start="2000-01"),
        SeriesQuery(series_id="empty", values=None, start="2000-01"),
    ]


def test_a_known_series_needs_no_start() -> None:
    queries = to_queries(request("store-7", start=None), Frequency.MONTHLY, {"store-7"})
    assert queries == [SeriesQuery(series_id="store-7", values=[1.0, 2.0])]


def test_an_unknown_name_without_values_is_asked_for_by_id() -> None:
    """It can only mean a stored series, so the data plane's 404 names the nearest ids."""
    queries = to_queries(request("empty", start=None), Frequency.MONTHLY, set())
    assert queries == [SeriesQuery(series_id="empty")]


def test_an_unknown_series_without_a_start_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        to_queries(request("store-7", "new", start=None), Frequency.MONTHLY, {"store-7"})
    assert refused.value.errors[0].field == "inputs[1].start_timestamp"
    assert "knows no series 'new'" in refused.value.message


@pytest.mark.parametrize(
    ("theirs", "count", "ours"),
    [
        ("horizon", 1, "options.horizon"),
        ("levels", 3, "options.quantiles"),
        ("inputs", 1, "inputs[0]"),  # a lone query: the data plane says just `inputs`
        ("inputs.values", 1, "inputs[0].series"),
        ("inputs.series_id", 1, "inputs[0].name"),
        ("inputs.start", 1, "inputs[0].start_timestamp"),
        ("inputs[2].values", 3, "inputs[2].series"),
        ("inputs[10].series_id", 11, "inputs[10].name"),
        ("inputs", 3, "inputs"),  # the whole list: too many series
        ("body", 1, "body"),
    ],
)
def test_the_data_planes_fields_are_named_as_this_protocol_names_them(
    theirs: str, count: int, ours: str
) -> None:
    assert our_field(theirs, count) == ours


def test_the_data_planes_errors_keep_their_kind_with_their_fields_renamed() -> None:
    theirs = InvalidInput.at("levels", "retrain it, or send levels: []")
    ours = in_our_terms(theirs, 1)
    assert ours.message == "options.quantiles: retrain it, or send levels: []"
    assert ours.errors == [FieldError(field="options.quantiles", message=theirs.errors[0].message)]
    unknown = in_our_terms(SeriesNotFound.named("inputs.series_id", "larg", "m", ["large"]), 1)
    assert isinstance(unknown, SeriesNotFound) and unknown.errors[0].field == "inputs[0].name"
    assert unknown.message == "inputs[0].name: model 'm' knows no series 'larg'; nearest: 'large'"
    other = in_our_terms(InvalidInput.at("series[3]", "too short"), 1)
    assert other.message == "series[3]: too short" and other.errors[0].field == "series[3]"


# --- answers ------------------------------------------------------------------------------------


def answer_of(
    quantiles: list[float] | None, periods: tuple[str, ...] | None = ("2000-03", "2000-04")
) -> ForecastResponse:
    """The answer to one input, from a forecast with 80 % and 95 % bands."""
    body = request("a", quantiles=quantiles)
    lower80, upper80 = np.array([0.0, 1.0]), np.array([4.0, 5.0])
    lower95, upper95 = np.array([-1.0, 0.0]), np.array([5.0, 6.0])
    forecast = SeriesForecast(
        series_id=None,
        values=np.array([2.0, 3.0]),
        bands=[(80.0, lower80, upper80), (95.0, lower95, upper95)],
        periods=None if periods is None else list(periods),
        warnings=["values: far outside the training range"],
    )
    return to_response(body, Answer("toy", 3), [forecast], "req-1", 1_700_000_000)


def test_quantiles_are_read_off_the_bands_and_the_median_is_the_point_forecast() -> None:
    forecast = answer_of([0.025, 0.1, 0.5, 0.9, 0.975]).outputs[0].content[0]
    assert forecast.mean_forecast == [2.0, 3.0]
    assert forecast.quantiles == {
        "0.025": [-1.0, 0.0],
        "0.1": [0.0, 1.0],
        "0.5": [2.0, 3.0],
        "0.9": [4.0, 5.0],
        "0.975": [5.0, 6.0],
    }


def test_an_answer_is_a_kserve_forecast_response() -> None:
    answer = answer_of([0.1, 0.9])
    theirs = kserve_response(answer.model_dump(mode="json", exclude_none=True))
    assert theirs.model == "toy" and theirs.status == "completed" and theirs.id == "req-1"
    assert theirs.created_at == 1_700_000_000 and theirs.model_version == "3"  # an extra field
    (output,) = theirs.outputs
    assert output.type == "time_series_forecast" and output.id == "req-1-0"
    (forecast,) = output.content
    assert forecast.type == "univariate_time_series" and forecast.name == "a"
    assert forecast.frequency == "M" and forecast.start_timestamp == "2000-03-01T00:00:00Z"
    assert forecast.quantiles == {"0.1": [0.0, 1.0], "0.9": [4.0, 5.0]}


def test_no_quantiles_asked_none_answered() -> None:
    answer = answer_of(None).model_dump(mode="json", exclude_none=True)
    assert "quantiles" not in answer["outputs"][0]["content"][0]
    kserve_response(answer)


def test_a_forecast_the_plane_cannot_place_in_time_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        answer_of(None, periods=None)
    assert refused.value.errors[0].field == "inputs[0].start_timestamp"

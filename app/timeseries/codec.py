"""KServe's time-series terms to the data plane's and back: calendars, periods, quantiles.

- Frequency: KServe names a frequency per input (`month` or `M`, ...); a model has one
  calendar (`app.contract.calendar.Frequency`), and an input of any other is refused,
  saying which spelling to send. Seconds, minutes and hours match no model here.
- Time: a `start_timestamp` (ISO 8601 date or timestamp, or a period label such as
  `2019`, `2019-Q3`, `2019-07`) names the period of the model's calendar that holds it,
  as the date is written (no time-zone shift). An answer's `start_timestamp` is the first
  instant of its first forecast period, e.g. `2020-01-01T00:00:00Z` for January 2020, so
  it is the input's start moved on by the length of the series whenever the input's was
  the first instant of its period.
- Quantiles are read off the data plane's central intervals: q < 0.5 is the lower bound
  of the interval of level (1 - 2q) x 100 %, q > 0.5 the upper bound of (2q - 1) x 100 %,
  so 0.1 and 0.9 are the two bounds of one 80 % interval. q = 0.5 is the point forecast:
  the ensemble's mean stands in for the median (the intervals are calibrated around it).
- Fields: the data plane names its own (`values`, `series_id`, `start`, `horizon`,
  `levels`); `in_our_terms` renames them as KServe's request has them (`series`, `name`,
  `start_timestamp`, `options.horizon`, `options.quantiles`), every input `inputs[i]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime

from app.answers import Answer
from app.contract.calendar import Frequency, period_label, period_number
from app.errors import FieldError, InvalidInput, ServiceError
from app.timeseries.plane import FIELD, SeriesForecast, SeriesQuery, row_field
from app.timeseries.types import (
    ForecastOutput,
    ForecastRequest,
    ForecastResponse,
    ForecastStatus,
    TimeSeriesForecast,
    TimeSeriesFrequency,
    TimeSeriesType,
)

F = TimeSeriesFrequency
CALENDARS: dict[TimeSeriesFrequency, Frequency] = {
    F.DAY: Frequency.DAILY,
    F.DAY_SHORT: Frequency.DAILY,
    F.WEEK: Frequency.WEEKLY,
    F.WEEK_SHORT: Frequency.WEEKLY,
    F.MONTH: Frequency.MONTHLY,
    F.MONTH_SHORT: Frequency.MONTHLY,
    F.QUARTER: Frequency.QUARTERLY,
    F.QUARTER_SHORT: Frequency.QUARTERLY,
    F.YEAR: Frequency.ANNUAL,
    F.YEAR_SHORT: Frequency.ANNUAL,
}
"""KServe's frequency spellings of each calendar; the others (seconds to hours) have none."""

MEDIAN = 0.5
_LABEL = re.compile(r"(\d{4})(?:-?Q([1-4])|-(\d{2}))?", re.IGNORECASE)
_OUR_TERMS = {"horizon": "options.horizon", "levels": "options.quantiles"}
_INPUT_TERMS = {"series_id": "name", "values": "series", "start": "start_timestamp"}
_ROW = re.compile(r"inputs\[\d+\]")


def check_calendar(kind: TimeSeriesFrequency, calendar: Frequency, model: str, at: str) -> None:
    """Refuse an input whose frequency is not the model's calendar, naming the one to send."""
    if CALENDARS.get(kind) is calendar:
        return
    long, short = (k.value for k, c in CALENDARS.items() if c is calendar)
    raise InvalidInput.at(
        at,
        f"{kind.value!r}, but model {model!r} forecasts a {calendar.value} series:"
        f" send {long!r} (or {short!r})",
    )


def period_of(timestamp: str, calendar: Frequency, at: str) -> str:
    """The ISO label of the period of `calendar` holding `timestamp`, as the data plane reads."""
    try:
        day = _first_day(timestamp.strip())
    except ValueError:
        raise InvalidInput.at(
            at, f"{timestamp!r} is not an ISO 8601 date or timestamp like 2019-07-01T00:00:00Z"
        ) from None
    return period_label(period_number(day.isoformat(), calendar), calendar)


def timestamp_of(period: str) -> str:
    """The first instant of a period label (`2019`, `2019-Q3`, `2019-07`, `2019-07-31`)."""
    return f"{_first_day(period).isoformat()}T00:00:00Z"


def _first_day(text: str) -> date:
    """The date a label or ISO timestamp names (a label: its first day); ValueError if none."""
    found = _LABEL.fullmatch(text)
    if found is None:
        return datetime.fromisoformat(text).date()
    year, quarter, month = found.groups()
    return date(int(year), int(month) if month else 3 * int(quarter or 1) - 2, 1)


def level_of(quantile: float) -> float:
    """The level (percent) of the central interval that has `quantile` as a bound."""
    return round(abs(1 - 2 * quantile) * 100, 9)  # 0.1 -> 80.0, not 80.00000000000001


def levels_for(quantiles: Sequence[float] | None) -> list[float]:
    """The interval levels the quantiles need, each once; none for 0.5 or no quantiles."""
    return sorted({level_of(q) for q in quantiles or () if q != MEDIAN})


def to_queries(body: ForecastRequest, calendar: Frequency, known: set[str]) -> list[SeriesQuery]:
    """One query per input: a known series by id (plus its new values), else the values.

    Known or not is decided by name alone (`known`: the names the version knows). An
    unknown name with values is a new series, forecast from them; it needs
    `start_timestamp`, since without it no answer could say when its forecast starts, and
    KServe's answer must. An unknown name with no values can only mean a stored series,
    so it is asked for by id, and the data plane's 404 names the nearest ids there are.
    """
    queries = []
    for i, series in enumerate(body.inputs):
        at = f"inputs[{i}]"
        check_calendar(series.frequency, calendar, body.model, f"{at}.frequency")
        start = series.start_timestamp
        period = None if start is None else period_of(start, calendar, f"{at}.start_timestamp")
        if series.name in known or not series.series:
            queries.append(SeriesQuery(series.name, series.series or None, period))
            continue
        if period is None:
            raise InvalidInput.at(
                f"{at}.start_timestamp",
                f"needed: model {body.model!r} knows no series {series.name!r}, so its"
                " forecast starts after the values posted, and only this says when",
            )
        queries.append(SeriesQuery(values=series.series, start=period))
    return queries


def our_field(field: str, count: int) -> str:
    """A field the data plane names (`inputs.values`, `horizon`) as this protocol does
    (`inputs[0].series`, `options.horizon`), for a request of `count` inputs."""
    if field in _OUR_TERMS:
        return _OUR_TERMS[field]
    row, dot, part = field.partition(".")
    if count == 1 and row == row_field(0, 1):  # the data plane's name for a lone query
        row = f"{FIELD}[0]"
    elif not _ROW.fullmatch(row):
        return field
    return f"{row}.{_INPUT_TERMS.get(part, part)}" if dot else row


def in_our_terms(error: ServiceError, count: int) -> ServiceError:
    """The data plane's error, of the same kind, with its fields named as this protocol
    names them (`our_field`), in the message too."""
    if not error.errors:
        return error
    fields = [FieldError(field=our_field(f.field, count), message=f.message) for f in error.errors]
    message, theirs = error.message, error.errors[0].field
    if message.startswith(f"{theirs}:"):
        message = fields[0].field + message[len(theirs) :]
    return type(error)(message, fields, error.headers)


def to_response(
    body: ForecastRequest,
    answer: Answer,
    forecasts: Sequence[SeriesForecast],
    request_id: str,
    created_at: int,
) -> ForecastResponse:
    """KServe's answer: one output per input, in input order, each holding its forecast."""
    outputs = [
        ForecastOutput(
            id=f"{request_id}-{i}",
            status=ForecastStatus.COMPLETED,
            content=[_forecast(body, i, forecast)],
        )
        for i, forecast in enumerate(forecasts)
    ]
    return ForecastResponse(
        id=request_id,
        created_at=created_at,
        status=ForecastStatus.COMPLETED,
        model=answer.model,
        model_version=str(answer.version),
        outputs=outputs,
    )


def _forecast(body: ForecastRequest, i: int, forecast: SeriesForecast) -> TimeSeriesForecast:
    series = body.inputs[i]
    if not forecast.periods:
        raise InvalidInput.at(
            f"inputs[{i}].start_timestamp",
            f"model {body.model!r} cannot say when this forecast starts: send the timestamp",
        )
    quantiles = body.options.quantiles
    return TimeSeriesForecast(
        type=TimeSeriesType.UNIVARIATE,
        name=series.name,
        mean_forecast=forecast.values.tolist(),
        frequency=series.frequency,
        start_timestamp=timestamp_of(forecast.periods[0]),
        quantiles=None if quantiles is None else _quantiles(quantiles, forecast),
        warnings=forecast.warnings,
    )


def _quantiles(quantiles: Sequence[float], forecast: SeriesForecast) -> dict[str, list[float]]:
    """Each quantile's values, keyed `str(q)` as KServe keys them (`"0.1"`)."""
    bounds = {round(level, 9): (lower, upper) for level, lower, upper in forecast.bands}
    out = {}
    for q in quantiles:
        values = forecast.values if q == MEDIAN else bounds[level_of(q)][q > MEDIAN]
        out[str(q)] = values.tolist()
    return out

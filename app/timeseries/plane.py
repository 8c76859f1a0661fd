"""What this protocol needs of the data plane, in one place: the many-series forecast.

The data plane answers a batch of `SeriesQuery` (`app.queries`) as one `Forecasts`, a
matrix of rows; this protocol answers per input, so `forecast_series` cuts the answer
into one `SeriesForecast` per query. Nothing else in `app.timeseries` touches the data
plane, the registry or the forecaster: the routes reach them through the functions below.

The data plane names the queries `inputs[i]` in its errors and warnings, but a request of
one query just `inputs` (`DataPlane.predict_queries`); `row_field` says which, so warnings
here and errors in `app.timeseries.codec` can name every input `inputs[i]`, as KServe's
clients address them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.answers import Answer, Forecasts, Naming
from app.budget import Work
from app.contract.calendar import Frequency
from app.dataplane import DataPlane
from app.queries import SeriesQuery

__all__ = [
    "FIELD",
    "SeriesForecast",
    "SeriesQuery",
    "forecast_one",
    "forecast_series",
    "row_field",
]

FIELD = "inputs"
"""What the data plane is told this protocol calls its queries."""

ONE = Naming(values=f"{FIELD}.values", start=f"{FIELD}.start", row=FIELD)
"""The names of a request's one posted input, as `predict_queries` gives them."""


@dataclass(frozen=True)
class SeriesForecast:
    """One input's answer: its points, its bands by level, its periods, what to watch."""

    series_id: str | None
    values: np.ndarray  # (horizon,) point forecasts, finite
    bands: list[tuple[float, np.ndarray, np.ndarray]]  # (level in percent, lower, upper)
    periods: list[str] | None  # ISO labels of the forecast periods, when known
    warnings: list[str]


def row_field(i: int, count: int) -> str:
    """How the data plane names query `i` of `count` asked with `field=FIELD`."""
    return f"{FIELD}[{i}]" if count > 1 else FIELD


def forecast_series(
    plane: DataPlane,
    name: str,
    queries: Sequence[SeriesQuery],
    horizon: int,
    levels: Sequence[float] | None,
) -> tuple[Answer, list[SeriesForecast]]:
    """Forecast every input in one vectorised pass; errors name them as `row_field` says."""
    answer = plane.predict_queries(name, queries, horizon, levels, field=FIELD)
    return answer, per_input(answer, queries)


async def forecast_one(
    plane: DataPlane,
    name: str,
    query: SeriesQuery,
    horizon: int,
    levels: Sequence[float],
    work: Work,
) -> tuple[Answer, list[SeriesForecast]]:
    """`forecast_series` of one posted input, with the forecasts of one series that other
    requests ask for meanwhile (`app.coalescing`): the same answer, in a shared pass."""
    assert query.series_id is None and query.values is not None, "a posted series"
    answer = await plane.coalescer.predict(
        name, query.values, horizon, levels, work, ONE, query.start
    )
    return answer, per_input(answer, [query])


def per_input(answer: Forecasts, queries: Sequence[SeriesQuery]) -> list[SeriesForecast]:
    """The answer to every input, cut out of the data plane's matrix of rows."""
    shared, own = split_warnings(answer.warnings, len(queries))
    out = []
    for i, query in enumerate(queries):
        out.append(
            SeriesForecast(
                series_id=query.series_id,
                values=answer.values[i],
                bands=[(b.level, b.lower[i], b.upper[i]) for b in answer.intervals],
                periods=(answer.periods[i] or None) if answer.periods else None,
                warnings=[*shared, *own[i]],
            )
        )
    return out


def split_warnings(warnings: Sequence[str], count: int) -> tuple[list[str], list[list[str]]]:
    """The warnings about every input, and each input's own, renamed `inputs[i]: ...`.

    One pass over the warnings, each looked up by the field before its first colon, so
    1,000 inputs cost 1,000 look-ups, not a million prefix checks.
    """
    index = {row_field(i, count): i for i in range(count)}
    shared: list[str] = []
    own: list[list[str]] = [[] for _ in range(count)]
    for warning in warnings:
        head, colon, rest = warning.partition(":")
        i = index.get(head) if colon else None
        if i is None:
            shared.append(warning)
        else:
            own[i].append(f"{FIELD}[{i}]:{rest}")
    return shared, own


def served_models(plane: DataPlane) -> list[str]:
    """The models with a served version, by name: those a forecast can be asked of now."""
    return [state.name for state in plane.registry.states() if state.ready]


def calendar_of(plane: DataPlane, model: str) -> Frequency:
    """The served version's calendar; ModelNotFound (404) / ModelNotReady (503) as usual."""
    return plane.registry.served(model).forecaster.manifest.data.frequency


def known_series(plane: DataPlane, model: str, names: Sequence[str]) -> set[str]:
    """Which of `names` the served version knows by id; none for a version without a table."""
    table = plane.registry.served(model).forecaster.series
    return set() if table is None else {name for name in names if name in table.index}

"""What this protocol needs of the data plane, in one place: the many-series forecast.

The data plane answers a batch of `SeriesQuery` (`app.queries`) as one `Forecasts`, a
matrix of rows; this protocol answers per input, so `forecast_series` cuts the answer
into one `SeriesForecast` per query. Nothing else in `app.timeseries` touches the data
plane, the registry or the forecaster: the routes reach them through the functions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.contract.calendar import Frequency
from app.dataplane import Answer, DataPlane
from app.queries import SeriesQuery

__all__ = ["SeriesForecast", "SeriesQuery", "forecast_series"]


@dataclass(frozen=True)
class SeriesForecast:
    """One input's answer: its points, its bands by level, its periods, what to watch."""

    series_id: str | None
    values: np.ndarray  # (horizon,) point forecasts, finite
    bands: list[tuple[float, np.ndarray, np.ndarray]]  # (level in percent, lower, upper)
    periods: list[str] | None  # ISO labels of the forecast periods, when known
    warnings: list[str]


def forecast_series(
    plane: DataPlane,
    name: str,
    queries: Sequence[SeriesQuery],
    horizon: int,
    levels: Sequence[float] | None,
) -> tuple[Answer, list[SeriesForecast]]:
    """Forecast every input in one vectorised pass; errors name them `inputs[i]`."""
    answer = plane.predict_queries(name, queries, horizon, levels, field="inputs")
    out = []
    for i, query in enumerate(queries):
        mine = f"inputs[{i}]" if len(queries) > 1 else ""
        out.append(
            SeriesForecast(
                series_id=query.series_id,
                values=answer.values[i],
                bands=[(b.level, b.lower[i], b.upper[i]) for b in answer.intervals],
                periods=(answer.periods[i] or None) if answer.periods else None,
                warnings=[
                    w
                    for w in answer.warnings
                    if not w.startswith("inputs[") or (mine and w.startswith(mine + ":"))
                ],
            )
        )
    return answer, out


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

"""What this protocol needs of the data plane, in one place: the many-series forecast.

The protocol is written against `DataPlane.forecast_series` (forecast named series from
their stored histories, posted values, or both), typed here as a Protocol so the routes
type-check before the data plane has it. `SeriesQuery` mirrors the data plane's query
field for field: when `app.dataplane` exports its own, import it here instead and drop
this one. Nothing else in `app.timeseries` touches the data plane, the registry or the
forecaster: the routes reach them through `SeriesPlaneDep` and the functions below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Protocol

import numpy as np
from fastapi import Depends

from app.budget import Work
from app.contract.calendar import Frequency
from app.http.deps import get_dataplane
from app.registry import Registry


@dataclass(frozen=True)
class SeriesQuery:
    """One series to forecast: a known one by id, posted values, or a known one's new values."""

    series_id: str | None = None  # a series the model knows: its stored history is used
    values: Sequence[float] | None = None  # posted history, appended to a known series'
    start: str | None = None  # ISO period of values[0] ("2019-07", "2019-Q3", "2019")


class SeriesForecast(Protocol):
    """One series' answer, as the data plane returns it."""

    @property
    def series_id(self) -> str | None: ...
    @property
    def values(self) -> np.ndarray: ...  # (horizon,) point forecasts, finite
    @property
    def bands(self) -> list[tuple[float, np.ndarray, np.ndarray]]: ...  # (level %, lower, upper)
    @property
    def periods(self) -> list[str] | None: ...  # ISO labels of the forecast periods, if known
    @property
    def warnings(self) -> list[str]: ...


class Answered(Protocol):
    @property
    def model(self) -> str: ...
    @property
    def version(self) -> int: ...


class SeriesPlane(Protocol):
    """The slice of `app.dataplane.DataPlane` this protocol calls."""

    registry: Registry

    def forecast_work(
        self, name: str, series: int, values: int, horizon: int, levels: int | None
    ) -> Work: ...

    def forecast_series(
        self,
        name: str,
        queries: Sequence[SeriesQuery],
        horizon: int,
        levels: Sequence[float] | None,
    ) -> tuple[Answered, list[SeriesForecast]]: ...


SeriesPlaneDep = Annotated[SeriesPlane, Depends(get_dataplane)]
"""The data plane the lifespan built (`app.http.deps`: the one every protocol, and every test
override, goes through), typed by what this protocol calls of it."""


def served_models(plane: SeriesPlane) -> list[str]:
    """The models with a served version, by name: those a forecast can be asked of now."""
    return [state.name for state in plane.registry.states() if state.ready]


def calendar_of(plane: SeriesPlane, model: str) -> Frequency:
    """The served version's calendar; ModelNotFound (404) / ModelNotReady (503) as usual."""
    return plane.registry.served(model).forecaster.manifest.data.frequency


class _SeriesTable(Protocol):
    @property
    def index(self) -> Mapping[str, int]: ...


def known_series(plane: SeriesPlane, model: str, names: Sequence[str]) -> set[str]:
    """Which of `names` the served version knows by id (its series table), none without one.

    The table is the version's `series` (`app.contract.series.SeriesTable`), read off the
    served forecaster; a version with no table (one series, written before tables) knows
    no id, so every input of it is forecast from the values posted.
    """
    forecaster = plane.registry.served(model).forecaster
    table: _SeriesTable | None = getattr(forecaster, "series", None)
    index = table.index if table is not None else {}
    return {name for name in names if name in index}

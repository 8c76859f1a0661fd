"""What the time-series protocol's tests share: KServe's own models, bodies, and a data plane
with `forecast_series` built from the one it has, so the routes can be tested before the
many-series data plane lands.

KServe's models are read from the installed `kserve` package (the dev extra), from its
own file: `kserve/protocol/rest/timeseries/types.py` needs only pydantic and dateutil,
while `import kserve` runs the package's `__init__`, which imports kubernetes, grpc,
pandas and its model server (about 1,500 modules) and registers KServe's Prometheus
histograms in the process's default registry, which this service's `/metrics` serves
in the same test process. Loading the one file avoids both; it is still KServe's code.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from apikit import SERIES

from app.contract.calendar import Frequency
from app.dataplane import Answer, DataPlane
from app.registry import Registry
from app.settings import Settings
from app.timeseries.codec import period_of
from app.timeseries.plane import SeriesQuery

FORECAST, MODELS = "/v1/timeseries/forecast", "/v1/timeseries/models"
MODEL = "toy"  # monthly, calibrated intervals for up to 6 steps (tests/modelkit.py)
START = "2000-01-01T00:00:00Z"
KSERVE_TYPES = "protocol/rest/timeseries/types.py"


def kserve_types() -> ModuleType:
    """KServe's `kserve.protocol.rest.timeseries.types`, loaded from the installed package."""
    name = "kserve_timeseries_types"
    if name in sys.modules:
        return sys.modules[name]
    found = importlib.util.find_spec("kserve")  # finds the package without importing it
    if found is None or not found.submodule_search_locations:
        raise ImportError("kserve is not installed: pip install -e '.[dev]' installs it")
    path = Path(next(iter(found.submodule_search_locations))) / KSERVE_TYPES
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves the postponed annotations through it
    spec.loader.exec_module(module)
    return module


def kserve_response(answer: Any) -> Any:
    """The answer's JSON as KServe's `ForecastResponse`: a ValidationError if KServe refuses."""
    return kserve_types().ForecastResponse.model_validate(answer)


def kserve_error(answer: Any) -> Any:
    return kserve_types().ErrorResponse.model_validate(answer)


def series_input(
    name: str = "posted",
    series: Sequence[float] = SERIES[:40],
    frequency: str = "month",
    start: str | None = START,
    **fields: Any,
) -> dict[str, Any]:
    found = {"type": "univariate_time_series", "name": name, "series": list(series)}
    found |= {"frequency": frequency, **fields}
    return found if start is None else {**found, "start_timestamp": start}


def body(
    *inputs: dict[str, Any],
    horizon: int = 3,
    quantiles: list[float] | None = None,
    model: str = MODEL,
) -> dict[str, Any]:
    options: dict[str, Any] = {"horizon": horizon}
    if quantiles is not None:
        options["quantiles"] = quantiles
    return {"model": model, "inputs": list(inputs) or [series_input()], "options": options}


def content(response: Any, i: int = 0) -> dict[str, Any]:
    """Input i's forecast in an answer: KServe nests it as outputs[i].content[0]."""
    output: dict[str, Any] = response.json()["outputs"][i]["content"][0]
    return output


@dataclass(frozen=True)
class StandInForecast:
    """The data plane's `SeriesForecast`, field for field."""

    series_id: str | None
    values: np.ndarray
    bands: list[tuple[float, np.ndarray, np.ndarray]]
    periods: list[str] | None
    warnings: list[str] = field(default_factory=list)


class StandInPlane(DataPlane):
    """`forecast_series` over `predict_batch`, for posted values only; records the queries.

    Periods follow the query's `start` on a monthly calendar (the toys'); a query by id is
    answered from `stored`, the history this stand-in pretends the model keeps per id.
    """

    def __init__(
        self, registry: Registry, settings: Settings, stored: dict[str, list[float]] | None = None
    ) -> None:
        super().__init__(registry, settings)
        self.stored = stored or {}
        self.queries: list[SeriesQuery] = []

    def forecast_series(
        self,
        name: str,
        queries: Sequence[SeriesQuery],
        horizon: int,
        levels: Sequence[float] | None,
    ) -> tuple[Answer, list[StandInForecast]]:
        self.queries.extend(queries)
        rows = [[*self.stored.get(q.series_id or "", []), *(q.values or [])] for q in queries]
        batch = self.predict_batch(name, rows, horizon, levels)
        answers = [
            StandInForecast(
                series_id=q.series_id,
                values=batch.values[i],
                bands=[(b.level, b.lower[i], b.upper[i]) for b in batch.intervals],
                periods=_periods(q, len(rows[i]), horizon),
                warnings=batch.warnings,
            )
            for i, q in enumerate(queries)
        ]
        return Answer(batch.model, batch.version), answers


def _periods(query: SeriesQuery, length: int, horizon: int) -> list[str] | None:
    if query.series_id is not None:
        return [f"2008-{month:02d}" for month in range(1, horizon + 1)]  # after 2007-12
    if query.start is None:
        return None
    year, month = (int(part) for part in period_of(query.start, Frequency.MONTHLY, "").split("-"))
    first = year * 12 + month - 1 + length
    return [f"{n // 12:04d}-{n % 12 + 1:02d}" for n in range(first, first + horizon)]

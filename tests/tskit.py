"""What the time-series protocol's tests share: KServe's own models, request bodies, and
readers of answers. The routes are tested over the real data plane and real models: the
toys (posted values, no series table) and the session's `catalog` (series by name).

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
from pathlib import Path
from types import ModuleType
from typing import Any

from apikit import SERIES

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
    series: Sequence[Any] = SERIES[:40],  # Any: bad elements too
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


def refused(response: Any, status: int, kind: str, param: str | None = None) -> str:
    """KServe's ErrorResponse, its code the status and `param` the field; returns the message."""
    assert response.status_code == status, response.text
    error = kserve_error(response.json()).error
    assert error.code == str(status) and error.type == kind and error.param == param, error
    assert error.message
    message: str = error.message
    return message

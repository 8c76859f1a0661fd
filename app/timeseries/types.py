"""Bodies of KServe's time-series forecast protocol, as far as this service speaks it.

Field names, nesting and enum values follow KServe's own models
(`python/kserve/kserve/protocol/rest/timeseries/types.py`, unchanged from kserve 0.16
to 0.21), so KServe's clients read our answers unchanged. They are written here, not
imported: serving must not depend on the kserve package (kubernetes, grpc, pandas), and
tests/timeseries/ validate every answer against KServe's own models instead.

Where KServe is looser, these are narrower, and say so in the schema, so a body the
schema calls valid is one these accept: a series is univariate (one flat list of finite
numbers), the horizon and the values are the ones every protocol of this service accepts
(`app.http.fields`), and a quantile lies strictly between 0 and 1. Unknown fields are
ignored, as KServe's models allow extra fields. Our answers add two fields KServe's
models let through: `model_version` (which version answered, as every answer of this
service says) and each forecast's `warnings`.

Class names carry the protocol's name where a plain one (`Frequency`, `Error`,
`Status`) would collide in the OpenAPI components with another protocol's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.http.examples import MILK
from app.http.fields import Horizon, Value


class TimeSeriesType(StrEnum):
    UNIVARIATE = "univariate_time_series"
    MULTIVARIATE = "multivariate_time_series"


class TimeSeriesFrequency(StrEnum):
    """KServe's frequencies, long and short spellings; a model serves the one of its calendar."""

    SECOND = "second"
    SECOND_SHORT = "S"
    MINUTE = "minute"
    MINUTE_SHORT = "T"
    HOUR = "hour"
    HOUR_SHORT = "H"
    DAY = "day"
    DAY_SHORT = "D"
    WEEK = "week"
    WEEK_SHORT = "W"
    MONTH = "month"
    MONTH_SHORT = "M"
    QUARTER = "quarter"
    QUARTER_SHORT = "Q"
    YEAR = "year"
    YEAR_SHORT = "Y"


class ForecastStatus(StrEnum):
    COMPLETED = "completed"
    ERROR = "error"
    PENDING = "pending"
    PARTIAL = "partial"


Quantile = Annotated[
    float,
    Field(
        strict=True,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="0.5 is the point forecast; q below it the lower bound of the central"
        " interval of level (1 - 2q) x 100 %, q above it the upper bound of (2q - 1) x 100 %.",
    ),
]

_EXAMPLE_SERIES: list[Any] = MILK[-36:]  # 1973-01 to 1975-12


class TimeSeriesInput(BaseModel):
    type: Literal["univariate_time_series"] = Field(
        description="Only univariate series are served: one value per period."
    )
    name: str = Field(
        min_length=1,
        description="A series the model knows (its stored history is forecast, `series`"
        " appended to it), or any name for a series forecast from `series` alone; with no"
        " `series`, a name the model does not know is a 404 naming the nearest ones.",
    )
    series: list[Value] = Field(
        description="The observed values, oldest first: for a series the model knows, only"
        " those after its stored history (or none)."
    )
    frequency: TimeSeriesFrequency = Field(description="Must be the model's calendar.")
    start_timestamp: str | None = Field(
        default=None,
        description="ISO 8601 date or timestamp of `series[0]`; it names the period holding"
        " it. Needed for a series the model does not know.",
    )


class ForecastOptions(BaseModel):
    horizon: Horizon
    quantiles: list[Quantile] | None = Field(
        default=None, description="Quantiles to forecast, e.g. [0.1, 0.5, 0.9]; none by default."
    )


class ForecastRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "milk",
                    "inputs": [
                        {
                            "type": TimeSeriesType.UNIVARIATE.value,
                            "name": "milk-production",
                            "series": _EXAMPLE_SERIES,
                            "frequency": TimeSeriesFrequency.MONTH.value,
                            "start_timestamp": "1973-01-01T00:00:00Z",
                        }
                    ],
                    "options": {"horizon": 3, "quantiles": [0.1, 0.5, 0.9]},
                }
            ]
        }
    )

    model: str = Field(description="The model to forecast with (`GET /v1/timeseries/models`).")
    inputs: list[TimeSeriesInput] = Field(min_length=1)
    options: ForecastOptions
    metadata: dict[str, Any] | None = Field(default=None, description="Accepted and ignored.")


class TimeSeriesForecast(BaseModel):
    type: TimeSeriesType
    name: str = Field(description="The input's name.")
    mean_forecast: list[float] = Field(description="The ensemble's mean forecast per period.")
    frequency: TimeSeriesFrequency = Field(description="The input's frequency, as sent.")
    start_timestamp: str = Field(description="The first forecast period's first instant (UTC).")
    quantiles: dict[str, list[float]] | None = Field(
        default=None, description="Per quantile asked for, keyed as KServe keys it (`str(q)`)."
    )
    warnings: list[str] = Field(
        default_factory=list, description="This service's notes on inputs, e.g. out of range."
    )


class TimeSeriesErrorDetail(BaseModel):
    code: str | None = Field(default=None, description="The HTTP status, as a string.")
    message: str
    param: str | None = Field(default=None, description="The field at fault, as a JSON path.")
    type: str = Field(description="A stable code: invalid_input, model_not_found, ...")


class TimeSeriesError(BaseModel):
    """The protocol's error body (KServe's `ErrorResponse`)."""

    error: TimeSeriesErrorDetail


class ForecastOutput(BaseModel):
    type: str = "time_series_forecast"
    id: str
    status: ForecastStatus
    content: list[TimeSeriesForecast] = Field(description="One forecast: this input's.")
    error: TimeSeriesErrorDetail | None = None


class ForecastResponse(BaseModel):
    id: str = Field(description="The X-Request-ID header when sent, else a fresh id.")
    created_at: int = Field(description="Unix time of the answer, in seconds.")
    status: ForecastStatus
    model: str
    model_version: str = Field(description="The version that answered.")
    outputs: list[ForecastOutput] = Field(description="One per input, in input order.")

"""Our wire shapes against KServe's own models: the same vocabulary, the same required fields,
requests KServe's clients build are ours to read, and our documented example is KServe's."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from tskit import kserve_types

from app.timeseries.types import (
    ForecastOutput,
    ForecastRequest,
    ForecastResponse,
    ForecastStatus,
    TimeSeriesErrorDetail,
    TimeSeriesForecast,
    TimeSeriesFrequency,
    TimeSeriesInput,
    TimeSeriesType,
)

KSERVE = kserve_types()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (TimeSeriesFrequency, KSERVE.Frequency),
        (TimeSeriesType, KSERVE.TimeSeriesType),
        (ForecastStatus, KSERVE.Status),
    ],
)
def test_the_enums_spell_what_kserves_spell(ours: type[Enum], theirs: type[Enum]) -> None:
    assert {e.value for e in ours} == {e.value for e in theirs}


def required(model: type[BaseModel]) -> set[str]:
    return {name for name, info in model.model_fields.items() if info.is_required()}


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (ForecastResponse, KSERVE.ForecastResponse),
        (ForecastOutput, KSERVE.ForecastOutput),
        (TimeSeriesForecast, KSERVE.TimeSeriesForecast),
        (TimeSeriesErrorDetail, KSERVE.Error),
    ],
)
def test_answers_have_every_field_kserve_requires(
    ours: type[BaseModel], theirs: type[BaseModel]
) -> None:
    assert required(theirs) <= set(ours.model_fields), required(theirs) - set(ours.model_fields)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(ForecastRequest, KSERVE.ForecastRequest), (TimeSeriesInput, KSERVE.TimeSeriesInput)],
)
def test_requests_require_nothing_kserve_does_not(
    ours: type[BaseModel], theirs: type[BaseModel]
) -> None:
    assert required(ours) <= required(theirs)


def kserve_request(**options: Any) -> dict[str, Any]:
    """A request built with KServe's own models, as its clients send it."""
    series = KSERVE.TimeSeriesInput(
        type=KSERVE.TimeSeriesType.UNIVARIATE,
        name="stock_price",
        series=[120, 122, 125, 127, 130, 133, 135],
        frequency="D",
        start_timestamp="2025-06-05T13:10:00Z",
    )
    request = KSERVE.ForecastRequest(
        model="toy",
        inputs=[series],
        options=KSERVE.ForecastOptions(horizon=3, **options),
        metadata=KSERVE.Metadata(trace="abc"),
    )
    dumped: dict[str, Any] = request.model_dump(mode="json")
    return dumped


def test_a_request_built_with_kserves_models_is_read_as_sent() -> None:
    ours = ForecastRequest.model_validate(kserve_request(quantiles=[0.1, 0.5, 0.9]))
    assert ours.model == "toy" and ours.options.horizon == 3
    assert ours.options.quantiles == [0.1, 0.5, 0.9]
    (series,) = ours.inputs
    assert series.name == "stock_price" and series.frequency is TimeSeriesFrequency.DAY_SHORT
    assert series.series == [120, 122, 125, 127, 130, 133, 135]
    assert series.start_timestamp == "2025-06-05T13:10:00Z"


def test_kserves_nulls_and_extra_options_are_accepted() -> None:
    ours = ForecastRequest.model_validate(kserve_request(temperature=0.3))  # extra: allowed
    assert ours.options.quantiles is None and ours.metadata == {"trace": "abc"}


def test_our_documented_example_is_a_kserve_request() -> None:
    example = ForecastRequest.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index]
    KSERVE.ForecastRequest.model_validate(example)
    ForecastRequest.model_validate(example)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "multivariate_time_series"}, "type"),
        ({"series": [[1.0, 2.0], [3.0, 4.0]]}, "series"),
        ({"series": [1.0, "2"]}, "series"),
        ({"frequency": "fortnight"}, "frequency"),
        ({"name": ""}, "name"),
    ],
)
def test_what_this_service_cannot_forecast_is_refused_at_parse(
    change: dict[str, Any], field: str
) -> None:
    request = kserve_request()
    request["inputs"][0] |= change
    with pytest.raises(ValidationError) as refused:
        ForecastRequest.model_validate(request)
    assert refused.value.errors()[0]["loc"][:3] == ("inputs", 0, field)


@pytest.mark.parametrize("quantiles", [[0.0], [1.0], [1.5], [-0.1], [True]])
def test_quantiles_lie_strictly_between_0_and_1(quantiles: list[Any]) -> None:
    with pytest.raises(ValidationError):
        ForecastRequest.model_validate(kserve_request(quantiles=quantiles))


def test_the_multivariate_refusal_says_why() -> None:
    request = kserve_request()
    request["inputs"][0]["type"] = "multivariate_time_series"
    with pytest.raises(ValidationError, match="Input should be 'univariate_time_series'"):
        ForecastRequest.model_validate(request)

"""The V2 codec's series by id: a `series_id` input instead of `values` (never both), and
the `periods` output its answers add, JSON strings or binary BYTES, sent only where known."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tritonclient.utils import deserialize_bytes_tensor

from app.answers import Forecasts
from app.errors import InvalidInput
from app.v2.codec import levels_asked, to_batch, to_inference_response
from app.v2.types import InferenceRequest

IDS = {"name": "series_id", "shape": [2], "datatype": "BYTES", "data": ["small", "large"]}
VALUES = {"name": "values", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 2.0]}
PERIODS = [["2008-01", "2008-02"], ["2007-07", "2007-08"]]
ANSWER = Forecasts("catalog", 1, 2, np.arange(4.0).reshape(2, 2), periods=PERIODS)


def request(*inputs: dict[str, Any], **extra: Any) -> InferenceRequest:
    return InferenceRequest.model_validate({"inputs": list(inputs) or [IDS], **extra})


def refused(body: InferenceRequest) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as error:
        to_batch(body)
    return error.value.errors[0].field, error.value.message


def test_a_series_id_input_asks_for_series_by_id() -> None:
    batch = to_batch(request(parameters={"horizon": 2}))
    assert batch.ids == ["small", "large"] and batch.rows is None and batch.horizon == 2
    values = to_batch(request(VALUES))
    assert values.ids is None and values.rows is not None


@pytest.mark.parametrize("inputs", [[IDS, VALUES], [VALUES, IDS]])
def test_values_and_series_id_together_are_refused(inputs: list[dict[str, Any]]) -> None:
    field, message = refused(request(*inputs))
    assert field == "inputs" and "either 'values'" in message and "not both" in message


def test_periods_are_a_bytes_output_after_the_others() -> None:
    response, payload = to_inference_response(ANSWER, to_batch(request()), "r")
    assert [o.name for o in response.outputs] == ["forecast", "periods"] and payload == []
    periods = response.outputs[1]
    assert (periods.datatype, periods.shape) == ("BYTES", [2, 2])
    assert periods.data == ["2008-01", "2008-02", "2007-07", "2007-08"]
    assert response.model_dump(exclude_none=True)["outputs"][1]["data"][0] == "2008-01"


def test_periods_as_binary_data_are_what_tritonclient_reads() -> None:
    batch = to_batch(request(parameters={"binary_data_output": True}))
    response, payload = to_inference_response(ANSWER, batch, "r")
    forecast, periods = response.outputs
    assert forecast.parameters == {"binary_data_size": 32}
    assert periods.data is None and periods.parameters == {"binary_data_size": len(payload[1])}
    read = deserialize_bytes_tensor(payload[1]).reshape(periods.shape)
    assert [[item.decode() for item in row] for row in read] == PERIODS
    assert payload[0] == ANSWER.values.astype("<f8").tobytes()


def test_periods_may_be_asked_for_by_name_and_are_no_band() -> None:
    asked = request(outputs=[{"name": "periods"}, {"name": "forecast"}])
    assert levels_asked(asked) is None  # the default levels: periods ask for no interval
    batch = to_batch(asked)
    assert batch.levels is None
    names = [o.name for o in to_inference_response(ANSWER, batch, "r")[0].outputs]
    assert names == ["periods", "forecast"]


def test_posted_values_have_no_periods_to_send_or_ask_for() -> None:
    values = to_batch(request(VALUES))
    unknown = Forecasts("toy", 1, 2, np.zeros((1, 2)), periods=None)
    assert [o.name for o in to_inference_response(unknown, values, "r")[0].outputs] == ["forecast"]
    field, message = refused(request(VALUES, outputs=[{"name": "periods"}]))
    assert field == "outputs" and "'series_id' only" in message


def test_periods_asked_for_twice_are_refused() -> None:
    twice = request(outputs=[{"name": "periods"}, {"name": "periods"}])
    assert "name the same output" in refused(twice)[1]

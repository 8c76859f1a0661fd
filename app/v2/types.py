"""Bodies of the Open Inference Protocol (KServe V2, REST), as far as this service speaks it.

Field names and shapes follow the protocol, so V2 clients (tritonclient, KServe,
Seldon) read them unchanged. Tensor `data` is only typed as a list here: it
may be flat (row-major) or nested in the tensor's shape, and its elements are
checked against the declared `datatype` by `app.v2.codec`, which can name the
row and column at fault. With the binary tensor data extension an input has
no `data` but `parameters.binary_data_size`, and an output asked for as binary
answers the same way, its bytes following the JSON (`app.v2.binary`). Unknown
fields and parameters are ignored, as other extensions expect. A request's one input
is `values` (series posted, [batch, length]) or `series_id` (BYTES [n]: series the model
knows, forecast from their stored histories); the answer to the latter adds `periods`
(BYTES [n, horizon]), the periods forecast.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.http.examples import MILK

INPUT, OUTPUT = "values", "forecast"
SERIES_INPUT, PERIODS = "series_id", "periods"  # series by id, and the periods they forecast
Parameters = dict[str, bool | int | float | str]
_ROWS = (MILK[-37:], MILK[-38:-1])


class V2Error(BaseModel):
    """The protocol's error body: one message, nothing else."""

    error: str


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str] = Field(description="Protocol extensions served.")


class ServerLive(BaseModel):
    live: bool = True


class ServerReady(BaseModel):
    ready: bool = True


class ModelReady(BaseModel):
    name: str
    ready: bool = True


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int] = Field(description="-1 marks a dimension of any size.")


class ModelMetadata(BaseModel):
    name: str
    versions: list[str] = Field(description="Only the served version can be requested.")
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class RequestInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = Field(
        None, description="`binary_data_size`: the tensor's bytes follow the JSON, not `data`."
    )
    data: list[Any] | None = Field(None, description="Row-major, flat or nested as `shape`.")


class RequestOutput(BaseModel):
    name: str
    parameters: Parameters | None = Field(
        None, description="`binary_data`: true to get this output as raw bytes after the JSON."
    )


class InferenceRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "42",
                    "parameters": {"horizon": 2},
                    "inputs": [
                        {
                            "name": INPUT,
                            "shape": [len(_ROWS), len(_ROWS[0])],
                            "datatype": "FP64",
                            "data": [v for row in _ROWS for v in row],
                        }
                    ],
                }
            ]
        }
    )

    id: str | None = Field(None, description="Echoed in the response.")
    parameters: Parameters | None = Field(
        None,
        description="`horizon`: steps to forecast (default 1); `levels`: interval levels;"
        " `binary_data_output`: true to get every output as raw bytes after the JSON.",
    )
    inputs: list[RequestInput] = Field(
        min_length=1,
        description=f"One tensor: `{INPUT}`, of shape [batch, length], or `{SERIES_INPUT}`,"
        " BYTES of shape [n], naming series the model knows.",
    )
    outputs: list[RequestOutput] | None = None


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = Field(
        default=None,
        description="`binary_data_size`: the output's bytes follow the JSON, not `data`.",
    )
    data: list[float] | list[str] | None = Field(
        default=None, description="Row-major, flat: numbers, or strings for BYTES (`periods`)."
    )


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str
    parameters: Parameters | None = Field(
        None, description="`warnings`, when inputs lie far outside the training range."
    )
    outputs: list[ResponseOutput]

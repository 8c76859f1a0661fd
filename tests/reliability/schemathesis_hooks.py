"""A custom Schemathesis check, loaded into `schemathesis run` through `SCHEMATHESIS_HOOKS`.

`schemathesis.toml` lets schema-valid requests be refused with 400/422, because the
data plane enforces rules the schema cannot state (see the comment there). This
check keeps that allowance from hiding a real mismatch between the published
schema and the pydantic models FastAPI validates with (the fuzzer found one: a
`horizon` of `3.0` is an integer to JSON Schema but was refused): whenever a
schema-valid body is refused, it must still pass the route's request model.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from pydantic import BaseModel, ValidationError

from app.timeseries.types import ForecastRequest
from app.v1.schemas import BatchPredictRequest, EvaluateRequest, PredictRequest
from app.v2.types import InferenceRequest

REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "/v1/predict": PredictRequest,
    "/v1/models/{name}/predict": PredictRequest,
    "/v1/models/{name}/predict/batch": BatchPredictRequest,
    "/v1/models/{name}/evaluate": EvaluateRequest,
    "/v2/models/{name}/infer": InferenceRequest,
    "/v2/models/{name}/versions/{version}/infer": InferenceRequest,
    "/v1/timeseries/forecast": ForecastRequest,
}


@schemathesis.check
def schema_valid_bodies_pass_the_request_model(ctx: Any, response: Any, case: Any) -> None:
    """A body generated as schema-valid and refused must not be refused by the model itself."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if response.status_code not in (400, 422) or not isinstance(case.body, dict | list):
        return
    model = REQUEST_MODELS.get(case.operation.path)
    if model is None:
        return
    try:
        model.model_validate(json.loads(json.dumps(case.body)))  # as FastAPI parses it
    except ValidationError as exc:
        raise AssertionError(
            f"{model.__name__} refuses a body the OpenAPI schema accepts: {exc.errors()[:3]}"
        ) from None

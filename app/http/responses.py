"""The error responses OpenAPI documents, from one table, so every router says the same thing.

A router names the statuses it can answer (`error_responses(404, 422)`) and
gets the shared description and body model for each; a route with a reason of
its own overrides just that description.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from app.errors import ErrorBody

Responses = dict[int | str, dict[str, Any]]

DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input.",
    401: "Missing or invalid API key (when keys are set).",
    404: "No model of that name.",
    413: "The body is larger than the limit.",
    415: "The body is not JSON (Content-Type application/json); the message shows an example.",
    422: "Invalid input; `errors` names each field.",
    503: "No version of the model verifies.",
}


def error_responses(
    *statuses: int, body: type[BaseModel] = ErrorBody, reasons: Mapping[int, str] | None = None
) -> Responses:
    """`responses=` for a router or route: each status with its body model and description."""
    reasons = reasons or {}
    return {
        status: {"model": body, "description": reasons.get(status, DESCRIPTIONS[status])}
        for status in statuses
    }

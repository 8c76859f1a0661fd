"""Domain errors that carry their HTTP status, and the one JSON shape every error is shown in.

The registry, the data plane and the body-size guard raise these; `app.http.exception_handlers`
renders them (and FastAPI's own validation and HTTP errors, and anything
unexpected) as the same body:

    {"error": "<readable message>", "type": "<stable code>",
     "errors": [{"field": "values[3]", "message": "..."}]}   # `errors` only on 422

`error` alone is what the Open Inference Protocol expects, so its endpoints can
reuse these errors unchanged. This module imports no web framework, so the
numerical layers can raise these errors without depending on FastAPI.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel


class FieldError(BaseModel):
    """One problem with one input field, named as a JSON path (e.g. `series[2][5]`)."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    type: str
    errors: list[FieldError] | None = None


class ServiceError(Exception):
    """Base of the domain errors; `status` and `type` say how the API reports it."""

    status = 500
    type = "internal_error"

    def __init__(self, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.message, type=self.type, errors=self.errors or None)


class NotFound(ServiceError):
    status, type = 404, "not_found"


class ModelNotFound(NotFound):
    type = "model_not_found"


class ModelNotReady(ServiceError):
    status, type = 503, "model_not_ready"


class InvalidInput(ServiceError):
    status, type = 422, "invalid_input"

    @classmethod
    def at(cls, field: str, message: str) -> InvalidInput:
        """An error about one field, with the field named in the message too."""
        return cls(f"{field}: {message}", [FieldError(field=field, message=message)])


class PayloadTooLarge(ServiceError):
    status, type = 413, "payload_too_large"

"""Domain errors that carry their HTTP status, and the one JSON shape every error is shown in.

The registry, the data plane and the body limits raise these; `app.http.exception_handlers`
renders them (and FastAPI's own validation and HTTP errors, and anything
unexpected) as the same body:

    {"error": "<readable message>", "type": "<stable code>",
     "errors": [{"field": "values[3]", "message": "..."}]}   # `errors` only on 422

`error` alone is what the Open Inference Protocol expects, so its endpoints can
reuse these errors unchanged. This module imports no web framework, so the
numerical layers can raise these errors without depending on FastAPI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

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

    def __init__(
        self,
        message: str,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})  # e.g. WWW-Authenticate, Retry-After

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.message, type=self.type, errors=self.errors or None)


class NotFound(ServiceError):
    status, type = 404, "not_found"


class ModelNotFound(NotFound):
    type = "model_not_found"

    @classmethod
    def named(cls, name: str, known: Iterable[str]) -> ModelNotFound:
        """The one message for an unknown model: it lists the models there are."""
        there = sorted(known)
        listed = ", ".join(repr(n) for n in there) if there else "none"
        return cls(f"no model named {name!r}; models: {listed}")


class ModelNotReady(ServiceError):
    status, type = 503, "model_not_ready"


class ShuttingDown(ServiceError):
    status, type = 503, "shutting_down"


class Overloaded(ServiceError):
    """More requests in flight than the worker admits (FORECAST_MAX_IN_FLIGHT)."""

    status, type = 503, "overloaded"


class Unauthorized(ServiceError):
    """A missing or wrong API key; `challenge` is the `WWW-Authenticate` value (RFC 6750)."""

    status, type = 401, "unauthorized"

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class InvalidInput(ServiceError):
    status, type = 422, "invalid_input"

    @classmethod
    def at(cls, field: str, message: str) -> InvalidInput:
        """An error about one field, with the field named in the message too."""
        return cls(f"{field}: {message}", [FieldError(field=field, message=message)])


class UnsupportedMediaType(ServiceError):
    status, type = 415, "unsupported_media_type"


class PayloadTooLarge(ServiceError):
    status, type = 413, "payload_too_large"


class RequestTimeout(ServiceError):
    """A request body that did not arrive in time (FORECAST_BODY_TIMEOUT_SECONDS)."""

    status, type = 408, "request_timeout"

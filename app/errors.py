"""The product's one error family, and the one JSON shape every error is shown in.

Every error raised on purpose is a `ServiceError`: its message says what went
wrong, in the caller's terms, and `type` is a stable code. What an error means
to a protocol (its HTTP status) is decided in one table where the handlers are,
`app.http.exception_handlers.STATUS`, not here. Requests are refused with the
errors below; model versions with `ArtifactError` (and the kinds of it that the
contract, the engine and the forecaster define); training's input with
`InvalidData` and its failures with `TrainingFailed`. The kinds that were
`ValueError`s before there was one family still are, so `except ValueError`
around a parser keeps meaning what it meant.

`app.http.exception_handlers` renders them (and FastAPI's own validation and
HTTP errors, and anything unexpected) as the same body:

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
    """Root of the family: a message that says what went wrong, and a stable `type` code."""

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
    type = "not_found"


class ModelNotFound(NotFound):
    type = "model_not_found"

    @classmethod
    def named(cls, name: str, known: Iterable[str]) -> ModelNotFound:
        """The one message for an unknown model: it lists the models there are."""
        there = sorted(known)
        listed = ", ".join(repr(n) for n in there) if there else "none"
        return cls(f"no model named {name!r}; models: {listed}")


class SeriesNotFound(NotFound):
    type = "series_not_found"

    @classmethod
    def named(cls, field: str, series_id: str, model: str, nearest: list[str]) -> SeriesNotFound:
        """The one message for an unknown series id: it names the nearest ids there are."""
        hint = f"; nearest: {', '.join(map(repr, nearest))}" if nearest else ""
        message = f"model {model!r} knows no series {series_id!r}{hint}"
        return cls(f"{field}: {message}", [FieldError(field=field, message=message)])


class ModelNotReady(ServiceError):
    type = "model_not_ready"


class ShuttingDown(ServiceError):
    type = "shutting_down"


class Overloaded(ServiceError):
    """More requests in flight than the worker admits (FORECAST_MAX_IN_FLIGHT)."""

    type = "overloaded"


class LedgerUnavailable(ServiceError):
    """The ledger is off, or its database cannot be reached: forecasts still answer."""

    type = "ledger_unavailable"


class Unauthorized(ServiceError):
    """A missing or wrong API key; `challenge` is the `WWW-Authenticate` value (RFC 6750)."""

    type = "unauthorized"

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class InvalidInput(ServiceError):
    type = "invalid_input"

    @classmethod
    def at(cls, field: str, message: str) -> InvalidInput:
        """An error about one field, with the field named in the message too."""
        return cls(f"{field}: {message}", [FieldError(field=field, message=message)])


class UnsupportedMediaType(ServiceError):
    type = "unsupported_media_type"


class PayloadTooLarge(ServiceError):
    type = "payload_too_large"


class RequestTimeout(ServiceError):
    """A request body that did not arrive in time (FORECAST_BODY_TIMEOUT_SECONDS)."""

    type = "request_timeout"


class ArtifactError(ServiceError, ValueError):
    """A model version that must not be served; the message says which file and why."""

    type = "artifact_refused"


class InvalidData(ServiceError, ValueError):
    """Training input that cannot be trusted: a CSV, a column, a period label."""

    type = "invalid_data"


class TrainingFailed(ServiceError, ValueError):
    """A training run that cannot go on or cannot publish (too short, unwritable, not servable)."""

    type = "training_failed"

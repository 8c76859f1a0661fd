"""Exception handlers: every error leaves the service as an `ErrorBody` JSON, never a traceback.

Domain errors render their own body, with the status `STATUS` gives their class (the one
table of HTTP statuses, which the middlewares and V2 ask too); FastAPI's request
validation errors become 422
`invalid_input` naming each field at fault as a JSON path; Starlette's HTTP
errors (unknown route, wrong method) keep their status, but a body that is not
UTF-8 or nests too deep is a 422 like any malformed JSON; and
anything unexpected is a 500 with a generic message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.errors import (
    ErrorBody,
    FieldError,
    InvalidInput,
    LedgerUnavailable,
    ModelNotReady,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RequestTimeout,
    ServiceError,
    ShuttingDown,
    Unauthorized,
    UnsupportedMediaType,
)

STATUS: dict[type[ServiceError], int] = {
    InvalidInput: 422,
    NotFound: 404,  # ModelNotFound too
    Unauthorized: 401,
    UnsupportedMediaType: 415,
    PayloadTooLarge: 413,
    RequestTimeout: 408,
    ModelNotReady: 503,
    ShuttingDown: 503,
    Overloaded: 503,
    LedgerUnavailable: 503,
}
"""The HTTP status of each domain error, the one place it is decided; anything else is 500."""


def status_of(error: ServiceError) -> int:
    """`STATUS` of the error's class or of its nearest ancestor there; 500 if none is."""
    return next((STATUS[kind] for kind in type(error).__mro__ if kind in STATUS), 500)


_UNPARSABLE = (UnicodeDecodeError, RecursionError)
_HTTP_TYPES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def error_response(status: int, body: ErrorBody) -> JSONResponse:
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status)


def field_path(loc: Sequence[int | str]) -> str:
    """`("body", "series", 2, 5)` -> `series[2][5]`; the body itself -> `body`."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def validation_error(errors: Sequence[dict[str, Any]]) -> InvalidInput:
    """One InvalidInput listing every pydantic error; its message quotes the first."""
    fields = [_field_error(e) for e in errors] or [FieldError(field="body", message="invalid")]
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return InvalidInput(f"{fields[0].field}: {fields[0].message}{more}", fields)


def _field_error(error: dict[str, Any]) -> FieldError:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":  # loc is ("body", character position)
        reason = error.get("ctx", {}).get("error", "malformed")
        return FieldError(field="body", message=f"invalid JSON at position {loc[-1]}: {reason}")
    return FieldError(field=field_path(loc), message=str(error.get("msg", "invalid")))


def service_error_response(error: ServiceError) -> JSONResponse:
    """The answer to a domain error: its body, its status, its headers (a 401's challenge)."""
    response = error_response(status_of(error), error.body())
    response.headers.update(error.headers)
    return response


async def _on_service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return service_error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    error = _unusable_body(request, exc.errors()) or validation_error(exc.errors())
    return error_response(status_of(error), error.body())


def _unusable_body(request: Request, errors: Sequence[dict[str, Any]]) -> ServiceError | None:
    """A body that is not a JSON object at all: say what the endpoint expects instead.

    Text or CSV sent as such is 415 (JSON is the only media type); an empty or
    non-object JSON body is 422. Both quote the endpoint's documented example.
    """
    whole = [e for e in errors if tuple(e.get("loc", ())) == ("body",)]
    if not whole or whole[0].get("type") == "json_invalid":
        return None
    if whole[0].get("type") == "value_error":  # a rule between fields (`model_validator`)
        return InvalidInput.at("body", str(whole[0].get("msg", "")).removeprefix("Value error, "))
    example = _example(request)
    like = f"; send a JSON object like {example}" if example else ""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and "json" not in media:
        return UnsupportedMediaType(
            f"the body is {media}, but this endpoint reads JSON (Content-Type:"
            f" application/json){like}. For a CSV file, send its values as a JSON list, or use"
            " the page at /"
        )
    return InvalidInput.at("body", f"expected a JSON object{like}")


def _example(request: Request) -> str | None:
    """The route's documented request example, long lists cut short: `{"values": [826, ...]}`."""
    field = getattr(request.scope.get("route"), "body_field", None)
    model = getattr(getattr(field, "field_info", None), "annotation", None)
    extra = getattr(model, "model_config", {}).get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if not examples:
        return None

    def short(value: Any) -> Any:
        if isinstance(value, list):
            return [short(v) for v in value[:2]] + (["..."] if len(value) > 2 else [])
        return value

    text = json.dumps({key: short(value) for key, value in examples[0].items()})
    return text.replace('"..."', "...")


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, _UNPARSABLE):
        # FastAPI's bare 400 for a body json.loads cannot even try (not UTF-8) or gives up on
        # (nested too deep): bad input like any malformed JSON, so 422 with the field named.
        error = InvalidInput.at("body", f"not parsable as JSON ({type(exc.__cause__).__name__})")
        return error_response(status_of(error), error.body())
    kind = _HTTP_TYPES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "error")
    response = error_response(exc.status_code, ErrorBody(error=str(exc.detail), type=kind))
    response.headers.update(exc.headers or {})
    return response


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after sending this body, so the server logs the
    # traceback once; the client only learns that the fault is ours.
    body = ErrorBody(error="internal error; the server log has the details", type="internal_error")
    return error_response(500, body)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception to a JSON body of the one shape; never a bare traceback."""
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)

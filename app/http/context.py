"""What the access log line says about a request beyond HTTP: its id, and the model that answered.

The access-log middleware binds a `RequestContext` in a context variable for
each request (threads of the pool inherit it); whoever learns which model
version answers notes it here, so the log names them without the data plane
knowing about logging.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass
class RequestContext:
    """What the access log line says about a request beyond HTTP: its id, model and version."""

    request_id: str
    model: str | None = None
    version: int | None = None


_current: ContextVar[RequestContext | None] = ContextVar("forecast_request", default=None)


def bind(context: RequestContext) -> Token[RequestContext | None]:
    return _current.set(context)


def unbind(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def current() -> RequestContext | None:
    """The request being served in this context (threads of the pool inherit it), if any."""
    return _current.get()


def note_served(model: str, version: int) -> None:
    """Say which model version answers the current request; no-op outside a request."""
    context = _current.get()
    if context is not None:
        context.model, context.version = model, version

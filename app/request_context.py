"""What a request is beyond HTTP: its id, and the model that answered.

The access-log middleware binds a `RequestContext` in a context variable for
each request (threads of the pool inherit it); a route that learns which model
version answered notes it here (`answered`), so the log names them without the
data plane or the registry knowing about logging. The ledger reads the id, to record
which request each served forecast answered: so this sits below HTTP, where every
layer that handles a request can read it.
"""

from __future__ import annotations

import random
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Protocol, TypeVar


class _Answered(Protocol):
    @property
    def model(self) -> str: ...

    @property
    def version(self) -> int: ...


A = TypeVar("A", bound=_Answered)


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


def note_served(model: str, version: int) -> None:
    """Say which model version answers the current request; no-op outside a request."""
    context = _current.get()
    if context is not None:
        context.model, context.version = model, version


def current_request_id() -> str | None:
    """The id of the request being answered; None outside a request."""
    context = _current.get()
    return None if context is None else context.request_id


def answered(answer: A) -> A:
    """Note the model version that gave `answer` (anything with `model` and `version`)."""
    note_served(answer.model, answer.version)
    return answer


def new_request_id() -> str:
    """32 random hex digits. Not `uuid4()`: its `os.urandom` system call was a visible share of
    a predict's CPU (BENCHMARKS.md), and a request id needs uniqueness, not unpredictability."""
    return f"{random.getrandbits(128):032x}"

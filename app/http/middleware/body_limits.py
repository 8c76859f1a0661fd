"""Request body limits, size and time, as the outermost middleware: before anything reads a body.

Size: a declared `Content-Length` over `max_bytes` is refused on the headers,
before a byte of the body is read and before anything inside runs (load
shedding, the access log, the API key check). A body without a length, or with a
false one, is counted as it streams and refused as soon as it passes the limit.

Time: the whole body must arrive within `timeout` seconds of its headers. A
body that stalls, or trickles in a byte at a time, is refused with 408 when the
time is up. uvicorn has no such limit: `timeout_keep_alive` only closes a
connection idle *between* requests, and once the headers are in, a body that
never completes holds its socket and its task for as long as the client likes.

Each refusal is the usual JSON error body, 413 or 408, sent with
`Connection: close`: the server then closes the socket instead of draining (or
waiting for) the rest of a body it will never use. Whatever the endpoint did
with the interrupted read is replaced by the refusal. Once the answer has
started, reads pass through untouched: the endpoint has what it needed.

It sits outside the load shedding, whose read of the body before admission
therefore goes through both limits: a client still sending holds no slot, and
is cut off after the timeout. Refusals are outside the access log too, so each
is counted here (`forecast_http_requests_total`, route `<unmatched>`, as before
any route matched) and logged as a warning.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.errors import PayloadTooLarge, RequestTimeout, ServiceError
from app.http.exception_handlers import error_response, status_of

log = logging.getLogger(__name__)
PATH_LIMIT = 256  # characters of the path kept in the log line, as in the access log


class _Refused(Exception):
    """Raised inside `receive` to stop whoever is reading; never leaves the middleware."""


class BodyLimitsMiddleware:
    """Refuse bodies over `max_bytes` bytes (413) or slower than `timeout` seconds (408)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        limit = self.max_bytes
        if _declared_length(scope) > limit:
            await _refuse(_too_large(limit), scope, send, started)
            return
        seconds = self.timeout
        deadline = asyncio.get_running_loop().time() + seconds
        received, complete, answering = 0, False, False
        refusal: ServiceError | None = None

        async def limited_receive() -> Message:
            nonlocal received, complete, refusal
            if complete or answering:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refusal = RequestTimeout(
                    f"request body not complete within {seconds:g} s; closing the connection"
                )
                raise _Refused from None
            received += len(message.get("body", b""))
            complete = not message.get("more_body", False)
            if received > limit:
                refusal = _too_large(limit)
                raise _Refused
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answering
            if refusal is None:  # once refused, whatever the app answers is replaced
                answering = True
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Refused:
            pass
        except Exception:
            if refusal is None:
                raise
        if refusal is not None:
            await _refuse(refusal, scope, send, started)


def _declared_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body larger than {limit} bytes")


async def _refuse(error: ServiceError, scope: Scope, send: Send, started: float) -> None:
    """Answer `error` and close the connection; count and log it, as the access log would."""
    status = status_of(error)
    response = error_response(status, error.body())
    response.headers["connection"] = "close"
    await response(scope, _nothing, send)
    metrics.record_request(
        metrics.UNMATCHED, scope["method"], status, time.perf_counter() - started
    )
    path = scope["path"][:PATH_LIMIT]
    log.warning(
        "refused %s %s with %d: %s",
        scope["method"],
        path,
        status,
        error.message,
        extra={"method": scope["method"], "path": path, "status": status},
    )


async def _nothing() -> Message:
    """The `receive` a refusal gets: it never reads the body it refused."""
    return {"type": "http.disconnect"}

"""Request body size limit, as plain ASGI middleware so it works before any parsing starts.

A declared `Content-Length` over the limit is refused without reading a byte;
a body sent in chunks (no or a false length) is counted as it streams and
refused as soon as it passes the limit. Either way the client gets the usual
JSON error body with status 413, whatever the endpoint did with the
interrupted read.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge
from app.http.exception_handlers import error_response


class _BodyTooLarge(Exception):
    """Raised inside `receive` to stop the endpoint reading; never leaves the middleware."""


class BodySizeLimitMiddleware:
    """Refuse request bodies larger than `max_bytes()` bytes with a 413 JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        if _declared_length(scope) > limit:
            await _refuse(limit, scope, receive, send)
            return
        received, refused = 0, False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                refused = True
                raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once refused, whatever the app answers is replaced by the 413
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not refused:
                raise
        if refused:
            await _refuse(limit, scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    error = PayloadTooLarge(f"request body larger than {limit} bytes")
    await error_response(error.status, error.body())(scope, receive, send)

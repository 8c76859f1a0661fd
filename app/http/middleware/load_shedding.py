"""Past saturation: a bounded number of requests in flight, the rest refused at once.

A worker that queued every request would answer all of them late, grow its
memory with the queue, and starve its probes until the orchestrator killed a
pod that was only busy (and sent its load to the next). This middleware keeps
at most `limit` requests in flight (probes and scrapes never count and are
never refused) and answers the excess immediately with 503, `Retry-After` and
the usual JSON error body. A request that arrives while the limit is full is
refused on its headers, before its body is read: the server discards the body's
bytes as they come instead of buffering them for the app, so under overload the
worker spends its CPU on what it admitted, and latency is normal again the
moment the load drops.

A request is admitted once its body has arrived, and leaves once its answer's
last byte is handed to the server. A client still sending (or one that never
reads what it asked for) holds a socket, not a slot, so a few dozen stalled
clients cannot shut everyone else out with 503s; the limit is checked again when
the body is complete. The body is read here, as the endpoint would have read it,
and replayed to the app. The body limits (`app.http.middleware.body_limits`),
outside, bound that read: a body over the size limit, or one not complete within
the body timeout, is refused there (413, 408) before it is ever admitted.

It sits outside the access log on purpose: under overload, a log line per
refusal would itself eat the CPU being protected. Refusals are counted in
`forecast_http_requests_shed_total`, and a warning is logged at most once per
`WARN_EVERY_S` seconds with the count since the last one.
"""

from __future__ import annotations

import functools
import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.errors import Overloaded
from app.http.bodies import read_messages, replaying
from app.http.exception_handlers import status_of

log = logging.getLogger(__name__)
WARN_EVERY_S = 10.0
RETRY_AFTER_S = 1


class LoadSheddingMiddleware:
    """Admit at most `limit` non-probe requests at once; refuse the rest with 503."""

    def __init__(self, app: ASGIApp, limit: int, probes: frozenset[str]) -> None:
        self.app = app
        self.limit = limit
        self.probes = probes  # never counted, never refused
        self.in_flight = 0
        self._shed_since_warning = 0
        self._warned_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.probes:
            await self.app(scope, receive, send)
            return
        if await self._refused_if_full(send):  # full already: refused before its body is read
            return
        received = await read_messages(receive)
        if received is None:
            return  # the client hung up before it finished sending
        if await self._refused_if_full(send):  # filled up while the body was arriving
            return
        self.in_flight += 1  # one event loop: no lock needed between check and increment
        holding = True

        def leave() -> None:
            nonlocal holding
            if holding:
                self.in_flight -= 1
                holding = False

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                leave()  # the work is done; a slow reader now holds only its socket
            await send(message)

        try:
            await self.app(scope, replaying(received, receive), answer)
        finally:
            leave()

    async def _refused_if_full(self, send: Send) -> bool:
        """Refuse with 503 if `limit` requests are in flight; whether it did."""
        limit = self.limit
        if self.in_flight < limit:
            return False
        await self._refuse(limit, send)
        return True

    async def _refuse(self, limit: int, send: Send) -> None:
        metrics.SHED.inc()
        self._shed_since_warning += 1
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            log.warning(
                "overloaded: refused %d requests with 503 (limit %d in flight)",
                self._shed_since_warning,
                limit,
                extra={"shed": self._shed_since_warning, "max_in_flight": limit},
            )
            self._warned_at, self._shed_since_warning = now, 0
        start, body = _refusal(limit)
        await send(start)
        await send(body)


@functools.lru_cache(maxsize=4)
def _refusal(limit: int) -> tuple[Message, Message]:
    """The 503's two ASGI messages, encoded once per limit: refusing must cost next to nothing."""
    error = Overloaded(
        f"the server is busy ({limit} requests in flight); retry in {RETRY_AFTER_S} s"
    )
    payload = json.dumps(error.body().model_dump(exclude_none=True)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
    ]
    return (
        {"type": "http.response.start", "status": status_of(error), "headers": headers},
        {"type": "http.response.body", "body": payload},
    )

"""Per-request metrics, one JSON access-log line, and the request id: one pure ASGI middleware.

Pure ASGI rather than Starlette's `BaseHTTPMiddleware`, which runs the app in a
separate task and streams every response through a memory channel, a cost paid
on each request. This one only wraps `send` (to read the status and add
`X-Request-ID`) and, when payload logging is on, `receive`.

The route label is the template the router matched (`scope["route"].path`,
e.g. `/v1/models/{name}/predict`), so model names never multiply the metric
series; a mounted app (the Swagger UI assets) is `<mount>/{path}` and anything
else `<unmatched>`. Probes and scrapes (the `probes` paths) are logged at DEBUG
and left out of the latency histogram, so a busy orchestrator neither floods
the log nor drags the latency quantiles down.

A client's `X-Request-ID` is kept when it is sane (1-128 characters of
`A-Z a-z 0-9 . _ : / + = -`), otherwise a new one is made; either way the
request continues with that id in its headers (so every layer, the V2 `infer`
response included, sees the same one) and the response carries it back.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.logs import write_line
from app.request_context import RequestContext, bind, new_request_id, unbind

log = logging.getLogger("app.access")

HEADER = b"x-request-id"
_SANE_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")
PAYLOAD_LIMIT = 4096  # bytes of a body kept in the log when payload logging is on
PATH_LIMIT = 256


class AccessLogMiddleware:
    """Count, time and log every HTTP request; give each one an `X-Request-ID`."""

    def __init__(self, app: ASGIApp, log_payloads: bool, probes: frozenset[str]) -> None:
        self.app = app
        self.log_payloads = log_payloads
        self.probes = probes  # their paths are their route templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = RequestContext(request_id=_request_id(scope))
        id_header = (HEADER, context.request_id.encode())
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != HEADER] + [id_header]
        payload = _Payload(receive) if self.log_payloads else None
        status = 500  # what the server answers if the app raises before it responds

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        probe = scope["path"] in self.probes
        token = bind(context)
        try:
            with metrics.in_flight(probe):
                await self.app(scope, payload.receive if payload else receive, send_with_id)
        finally:
            unbind(token)
            _finish(scope, status, time.perf_counter() - started, context, payload, probe)


class _Payload:
    """The first `PAYLOAD_LIMIT` bytes of a request body, kept as the app reads it."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.head = bytearray()
        self.size = 0

    async def receive(self) -> Message:
        message = await self._receive()
        chunk = message.get("body", b"")
        self.size += len(chunk)
        self.head.extend(chunk[: max(0, PAYLOAD_LIMIT - len(self.head))])
        return message


def _request_id(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == HEADER and _SANE_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return new_request_id()


def route_template(scope: Scope) -> str:
    """The matched route's template, for labels and logs; never the raw path."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    if "endpoint" in scope and "app_root_path" in scope:  # inside a mounted app
        return f"{scope['root_path'][len(scope['app_root_path']) :]}/{{path}}"
    return metrics.UNMATCHED


def _finish(
    scope: Scope,
    status: int,
    seconds: float,
    context: RequestContext,
    payload: _Payload | None,
    probe: bool,
) -> None:
    route = route_template(scope)
    metrics.record_request(route, scope["method"], status, seconds, probe)
    level = _level(probe, status)
    if log.isEnabledFor(level):
        fields = _fields(scope, route, status, seconds, context, payload)
        write_line(log, level, f"{scope['method']} {route} {status}", fields)


def _level(probe: bool, status: int) -> int:
    if probe:
        return logging.DEBUG
    return logging.ERROR if status >= 500 else logging.INFO


def _fields(
    scope: Scope,
    route: str,
    status: int,
    seconds: float,
    context: RequestContext,
    payload: _Payload | None,
) -> dict[str, Any]:
    """The access-log fields; the posted body only when payload logging is on."""
    model = context.model or scope.get("path_params", {}).get("name", "")[:PATH_LIMIT] or None
    fields: dict[str, Any] = {
        "method": scope["method"],
        "route": route,
        "path": scope["path"][:PATH_LIMIT],
        "status": status,
        "latency_ms": round(seconds * 1000, 3),
        "model": model,
        "version": context.version,
        "request_id": context.request_id,
    }
    if payload is not None:
        fields["payload"] = payload.head.decode("utf-8", "replace")
        fields["payload_truncated"] = payload.size > len(payload.head)
    return fields

"""The fast lane: a few JSON routes answered without FastAPI's per-request machinery.

For a small forecast, FastAPI's work around the endpoint costs more than the
forecast: matching the path against every route, solving the dependencies,
validating the answer against its model before serialising it (BENCHMARKS.md,
"Measurements behind design choices"). This ASGI layer, the innermost middleware,
answers the routes given to it in the plain case: a POST whose body is JSON (by its
content type, or without one where the route reads that as JSON, as V2's do),
a key the service accepts (or none needed), and a body the route's model
validates. It calls the route's own endpoint with the arguments FastAPI would
give it and serialises the answer as FastAPI does, to the same bytes.

Anything else goes on to FastAPI with the body already read, and gets the answer
it always got: a missing or wrong key its 401, an invalid body its 422, another
content type its 415. An error the endpoint raises is rendered as the route renders
it: by the app's own handler, or by the route class's `lane_error` (the Open Inference
Protocol's `{"error": ...}`). A route class may also name headers whose requests are
never plain (`lane_leaves`: V2's binary framing, which FastAPI's side unframes). The
routes stay in the OpenAPI schema as they are; with the lane off
(`FORECAST_FAST_LANE=false`), FastAPI answers them all.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import ServiceError
from app.http.auth import ApiKeys, require_api_key
from app.http.bodies import joined, read_messages, replaying
from app.http.deps import DataPlaneDep, SettingsDep
from app.http.exception_handlers import service_error_response

BODY = "body"
PLANE = "plane"
SETTINGS = "settings"
REQUEST = "request"
GIVEN: dict[str, Any] = {PLANE: DataPlaneDep, SETTINGS: SettingsDep, REQUEST: Request}
"""What the lane gives an endpoint besides its body and path: by name, and only as typed."""
JSON = b"application/json"


@dataclass(frozen=True)
class _Lane:
    """One route the lane answers: its template, its body model and how to answer."""

    route: APIRoute
    body: type[BaseModel]
    answer: TypeAdapter[Any]
    params: frozenset[str]
    exclude_none: bool  # the route's `response_model_exclude_none`
    error: Callable[[ServiceError], Response]  # how the route renders a domain error
    leaves: frozenset[bytes]  # headers (lower case) whose requests go to FastAPI
    untyped_json: bool  # a body without a content type is JSON (`strict_content_type=False`)

    @classmethod
    def of(cls, route: APIRoute) -> _Lane:
        """The lane for `route`; refuses a route whose endpoint takes anything it cannot give."""
        signature = inspect.signature(route.endpoint, eval_str=True).parameters
        params = frozenset(signature)
        path = frozenset(route.param_convertors)
        given = {
            name
            for name, kind in GIVEN.items()
            if getattr(signature.get(name), "annotation", None) == kind
        }
        if not params <= path | given | {BODY} or BODY not in params:
            raise ValueError(
                f"{route.path}: the fast lane gives only body, path and {sorted(GIVEN)} as typed"
            )
        body = route.body_field.field_info.annotation if route.body_field else None
        if not (isinstance(body, type) and issubclass(body, BaseModel)):
            raise ValueError(f"{route.path}: the fast lane needs one pydantic body model")
        if not inspect.iscoroutinefunction(route.endpoint):
            raise ValueError(f"{route.path}: the fast lane calls async endpoints only")
        if route.status_code not in (None, 200) or route.response_model is None:
            raise ValueError(f"{route.path}: the fast lane answers 200 with a response model")
        if any(d.dependency is not require_api_key for d in route.dependencies):
            raise ValueError(f"{route.path}: the fast lane checks the API key, nothing else")
        shaped = (
            route.response_model_include,
            route.response_model_exclude,
            route.response_model_exclude_unset,
            route.response_model_exclude_defaults,
        )
        if any(shaped) or not route.response_model_by_alias:
            raise ValueError(f"{route.path}: the fast lane dumps the whole response model")
        return cls(
            route,
            body,
            TypeAdapter(route.response_model),
            params,
            route.response_model_exclude_none,
            getattr(route, "lane_error", service_error_response),
            frozenset(h.lower().encode() for h in getattr(route, "lane_leaves", ())),
            _value(route.strict_content_type) is False,
        )


class FastLane:
    """Answer the plain case of `routes` directly; hand everything else to `app`."""

    def __init__(self, app: ASGIApp, fastapi: FastAPI, routes: Iterable[APIRoute]) -> None:
        self.app = app
        self.fastapi = fastapi  # its state holds the keys and the data plane once started
        self.lanes = tuple(_Lane.of(route) for route in routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        for lane in self.lanes:
            match = lane.route.path_regex.match(scope["path"])
            if match:
                break
        else:
            await self.app(scope, receive, send)
            return
        messages = await read_messages(receive)
        if messages is None:  # the client hung up
            return
        body = self._plain(scope, joined(messages), lane)
        if body is None:
            await self.app(scope, replaying(messages, receive), send)
            return
        path_params = {
            key: lane.route.param_convertors[key].convert(value)
            for key, value in match.groupdict().items()
        }
        scope["route"], scope["path_params"] = lane.route, path_params
        arguments = {key: value for key, value in path_params.items() if key in lane.params}
        arguments[BODY] = body
        if PLANE in lane.params:
            arguments[PLANE] = self.fastapi.state.plane
        if SETTINGS in lane.params:
            arguments[SETTINGS] = self.fastapi.state.settings
        if REQUEST in lane.params:
            arguments[REQUEST] = Request(scope, replaying(messages, receive))
        try:
            answer = await lane.route.endpoint(**arguments)
        except ServiceError as error:
            await lane.error(error)(scope, receive, send)
            return
        if isinstance(answer, Response):  # the endpoint's own (V2's binary-framed answer)
            await answer(scope, receive, send)
            return
        # As FastAPI serialises a response model: validated (a no-op for the model's own
        # instances), then dumped to JSON bytes by pydantic.
        valid = lane.answer.validate_python(answer)
        content = lane.answer.dump_json(valid, by_alias=True, exclude_none=lane.exclude_none)
        await _send_json(send, content)

    def _plain(self, scope: Scope, raw: bytes, lane: _Lane) -> BaseModel | None:
        """The validated body if the request is the plain case, else None."""
        state = self.fastapi.state
        if not hasattr(state, "plane") or self.fastapi.dependency_overrides:
            return None  # not started, or dependencies swapped (tests): FastAPI knows best
        media, authorization = None, None
        for key, value in scope["headers"]:
            if key == b"content-type" and media is None:
                media = value.split(b";", 1)[0].strip().lower()
            elif key == b"authorization" and authorization is None:
                authorization = value
            elif key in lane.leaves:
                return None
        typed = media == JSON or (media is None and lane.untyped_json)
        if not typed or not _authorised(state.api_keys, authorization):
            return None
        try:
            return lane.body.model_validate_json(raw)
        except ValidationError:
            return None


def _value(setting: Any) -> Any:
    """A route option's value, whether set or left at FastAPI's default."""
    return setting.value if isinstance(setting, DefaultPlaceholder) else setting


async def _send_json(send: Send, content: bytes) -> None:
    headers = [(b"content-length", str(len(content)).encode()), (b"content-type", JSON)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _authorised(keys: ApiKeys, authorization: bytes | None) -> bool:
    """What `ApiKeyBearer` accepts: no keys, or `Bearer <one of them>`."""
    if not keys:
        return True
    if authorization is None:
        return False
    scheme, _, credentials = authorization.decode("latin-1").partition(" ")
    return scheme.lower() == "bearer" and bool(credentials) and keys.accepts(credentials)

"""Optional API keys: when any key is configured, model endpoints need `Authorization: Bearer`.

Keys come from `FORECAST_API_KEYS` (comma-separated) and `FORECAST_API_KEYS_FILE`
(a mounted secret: one key per line or comma-separated); both together give
the union. They are read once, at startup, so a missing or empty secret file
stops the service instead of leaving it silently open. With no keys the
service is open, and says so once in its log.

Routers that serve models declare `dependencies=PROTECTED`, which also puts the
bearer scheme in OpenAPI (the Authorize button in `/docs`), and
`responses=error_responses(401)`, which documents the 401. The schema says what the
running server enforces: with keys the scheme is required; without, an empty
alternative makes it optional (`document_open_access`), so clients generated
from it and schema fuzzers do not insist on a token the server ignores. Probes,
metrics and the docs stay open. Keys are compared as SHA-256 digests with
`hmac.compare_digest`, against every key without stopping at a match, so
neither the time taken nor anything logged reveals which key, or how much of
one, was right. No key is ever logged. The fast lane (`app.http.fast_lane`) answers
the requests it takes only when `ApiKeys.accepts` their key; a missing or wrong one goes
on to this dependency and its 401.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPBearer

from app.errors import Unauthorized
from app.settings import Settings

log = logging.getLogger(__name__)


class ApiKeys:
    """The accepted keys, kept only as digests; falsy when the service is open."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = tuple({_digest(key) for key in keys})

    def __bool__(self) -> bool:
        return bool(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    def accepts(self, candidate: str) -> bool:
        """Whether `candidate` is one of the keys; always compares against all of them."""
        digest = _digest(candidate)
        matched = False
        for key in self._digests:
            matched |= hmac.compare_digest(digest, key)
        return matched


def _digest(key: str) -> bytes:
    # Equal-length digests: compare_digest's time then says nothing about the key's length.
    return hashlib.sha256(key.encode()).digest()


def split_keys(text: str) -> list[str]:
    """Keys separated by commas and/or newlines, stripped; blanks dropped."""
    return [key.strip() for line in text.splitlines() for key in line.split(",") if key.strip()]


def load_api_keys(settings: Settings) -> ApiKeys:
    """Read the keys once at startup and log, without any key, whether the service is open."""
    keys = split_keys(settings.api_keys.get_secret_value())
    if settings.api_keys_file is not None:
        keys += _read_key_file(settings.api_keys_file)
    api_keys = ApiKeys(keys)
    if api_keys:
        log.info("API keys required on /v1 and /v2 model endpoints (%d keys)", len(api_keys))
    else:
        log.warning(
            "no API keys configured (FORECAST_API_KEYS, FORECAST_API_KEYS_FILE): "
            "every endpoint is open to anyone who can reach the service"
        )
    return api_keys


def _read_key_file(path: Path) -> list[str]:
    """The file's keys; a missing or empty file is a broken secret mount, so startup fails."""
    try:
        keys = split_keys(path.read_text())
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"FORECAST_API_KEYS_FILE {path}: cannot read it ({reason})") from None
    if not keys:
        raise ValueError(f"FORECAST_API_KEYS_FILE {path} holds no keys; refusing to start open")
    return keys


class ApiKeyBearer(HTTPBearer):
    """The bearer scheme that also checks the key: one dependency per request, not two.

    As a `SecurityBase` it puts the scheme in OpenAPI like `HTTPBearer` does; its
    `__call__` parses the header as `HTTPBearer` does, then refuses with 401 and
    `WWW-Authenticate: Bearer` unless keys are off or the token is one of them.
    (A check depending on a separate `HTTPBearer` cost FastAPI a second dependency
    to solve on every request: BENCHMARKS.md, "Measurements behind design choices".)
    """

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        keys: ApiKeys = request.app.state.api_keys
        if not keys:
            return
        credentials = await super().__call__(request)
        if credentials is None:
            raise Unauthorized(
                "missing API key: send the header 'Authorization: Bearer <key>'",
                challenge="Bearer",
            )
        if not keys.accepts(credentials.credentials):
            raise Unauthorized("invalid API key", challenge='Bearer error="invalid_token"')


require_api_key = ApiKeyBearer(
    scheme_name="HTTPBearer",
    auto_error=False,
    description="An API key from FORECAST_API_KEYS or FORECAST_API_KEYS_FILE; "
    "needed only when the service is started with keys.",
)


def keys_required(request: Request) -> bool:
    """Whether the service runs with keys: open routes must then show nothing the keys guard."""
    return bool(request.app.state.api_keys)


PROTECTED: list[DependsParam] = [Depends(require_api_key)]
"""Router-level dependencies for every router that serves models."""


def document_open_access(app: FastAPI) -> None:
    """Make `/openapi.json` mark the bearer key optional while the running app has no keys.

    FastAPI writes `security: [{"HTTPBearer": []}]` (a key is required) on every
    protected route whatever the configuration; an open server then contradicts
    its own schema. Before startup (no keys read yet) the schema is left as built.
    """
    build = app.openapi
    open_schema: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        schema = build()
        keys: ApiKeys | None = getattr(app.state, "api_keys", None)
        if keys is None or keys:
            return schema
        if not open_schema:
            open_schema.update(_with_anonymous_access(schema))
        return open_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_anonymous_access(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy where every secured operation also accepts no credentials (`{}`)."""
    opened = copy.deepcopy(schema)
    for methods in opened.get("paths", {}).values():
        for operation in methods.values():
            security = operation.get("security")
            if security and {} not in security:
                security.append({})
    return opened

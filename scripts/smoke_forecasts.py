"""The smoke test's forecasts: the container's, over HTTP, against the same app's in process.

`http` is the JSON client (standard library; `SMOKE_API_KEY` sends a bearer key),
`Reference` runs `create_app` under Starlette's TestClient on the same model
directory, and `check_forecasts` posts fixed milk values to `/v1/predict` (horizon
1 and 12) and to the batch endpoint and compares every number. `SmokeError` and
`log` are what every part of the smoke test (scripts/smoke.py) fails with and prints.
"""

from __future__ import annotations

import json
import logging
import math
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Monthly milk production (pounds per cow), 1962-1964: 36 values, oldest first,
# enough for any committed model's look_back.
VALUES = [
    589.0, 561.0, 640.0, 656.0, 727.0, 697.0, 640.0, 599.0, 568.0, 577.0, 553.0, 582.0,
    600.0, 566.0, 653.0, 673.0, 742.0, 716.0, 660.0, 617.0, 583.0, 587.0, 565.0, 598.0,
    628.0, 618.0, 688.0, 705.0, 770.0, 736.0, 678.0, 639.0, 604.0, 611.0, 594.0, 634.0,
]  # fmt: skip
# The engine computes in float32 (app/engine/layers.PRECISION); a different BLAS
# thread count or CPU kernel sums in another order, so forecasts agree to float32's
# resolution, not bit for bit.
RELATIVE_TOLERANCE = 1e-6


class SmokeError(AssertionError):
    pass


def log(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


# --------------------------------------------------------------------- HTTP client
def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key := os.environ.get("SMOKE_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    return headers


def http(method: str, url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=_headers())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


# ------------------------------------------------------- reference (in-process)
class Reference:
    """The same app, same model directory, in this process (no container, no network)."""

    def __init__(self, model_dir: Path, default_model: str) -> None:
        try:
            from fastapi.testclient import TestClient

            from app.main import create_app
            from app.settings import Settings
        except ImportError as err:
            raise SmokeError(
                f"cannot import the app in-process ({err}); run with the project venv, "
                "e.g. `.venv/bin/python scripts/smoke.py` after `make test`"
            ) from err
        # the in-process app's own log lines would interleave with the container's
        # story; its errors still show
        logging.disable(logging.WARNING)
        settings = Settings(model_dir=model_dir, default_model=default_model)
        self._client = TestClient(create_app(settings))
        self._client.__enter__()  # runs the lifespan: models load here

    def post(self, path: str, body: Any) -> Any:
        response = self._client.post(path, json=body, headers=_headers())
        if response.status_code != 200:
            raise SmokeError(f"in-process POST {path} -> {response.status_code}: {response.text}")
        return response.json()

    def close(self) -> None:
        self._client.__exit__(None, None, None)


def _flatten(x: Any) -> list[float]:
    if isinstance(x, list):
        return [v for item in x for v in _flatten(item)]
    return [float(x)]


def compare(label: str, got: dict[str, Any], want: dict[str, Any], key: str) -> float:
    for field in ("model", "version", "horizon"):
        if got.get(field) != want.get(field):
            raise SmokeError(f"{label}: {field} {got.get(field)!r} != {want.get(field)!r}")
    a, b = _flatten(got[key]), _flatten(want[key])
    if len(a) != len(b) or not a:
        raise SmokeError(f"{label}: {key} shapes differ: {got[key]} vs {want[key]}")
    worst = max(abs(x - y) / max(1.0, abs(y)) for x, y in zip(a, b, strict=True))
    if not all(math.isfinite(x) for x in a) or worst > RELATIVE_TOLERANCE:
        raise SmokeError(
            f"{label}: container {got[key]} != in-process {want[key]} (max relative diff {worst})"
        )
    exact = "exactly equal" if worst == 0 else f"max relative diff {worst:.3g}"
    log(f"{label}: {got['model']} v{got['version']} {key}={got[key]} ({exact})")
    return worst


def check_forecasts(base_url: str, ref: Reference, expect_model: str) -> None:
    for horizon in (1, 12):
        body = {"values": VALUES, "horizon": horizon}
        status, got = http("POST", f"{base_url}/v1/predict", body)
        if status != 200:
            raise SmokeError(f"POST /v1/predict -> {status}: {got}")
        if got.get("model") != expect_model:
            raise SmokeError(f"/v1/predict served {got.get('model')!r}, expected {expect_model!r}")
        compare(f"/v1/predict h={horizon}", got, ref.post("/v1/predict", body), "forecast")
    batch = {"series": [VALUES, VALUES[:-1], [v * 1.05 for v in VALUES]], "horizon": 3}
    path = f"/v1/models/{expect_model}/predict/batch"
    status, got = http("POST", base_url + path, batch)
    if status != 200:
        raise SmokeError(f"POST {path} -> {status}: {got}")
    compare(f"{path} h=3", got, ref.post(path, batch), "forecasts")

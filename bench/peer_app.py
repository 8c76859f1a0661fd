"""The naive peer: the usual "Keras model behind FastAPI" service, as blog posts deploy it.

    PEER_MODEL_DIR=models/milk/1 uvicorn bench.peer_app:app --host 127.0.0.1 --port 8001

It loads the same `model.keras` and `scaler.joblib` as the service, with Keras and
scikit-learn, at import time, and calls `model.predict` once per request on a window
built from the posted values: difference as the manifest says, scale with the fitted
scaler, predict, unscale, undo the differencing. It answers the same `POST /v1/predict`
body with the same forecast as the service (the benchmark checks that), so the two are
compared doing the same work. It is given the benefit of the doubt where the usual code
is worse: a plain `def` endpoint (FastAPI's thread pool, not a blocked event loop) and
`verbose=0` (no progress bar printed per request).

Benchmark code only: it is never part of the service.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import joblib
import keras
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

VERSION_DIR = Path(os.environ.get("PEER_MODEL_DIR", "models/milk/1"))
MANIFEST = json.loads((VERSION_DIR / "manifest.json").read_text())
PIPELINE: dict[str, Any] = MANIFEST["pipeline"]
LOOK_BACK = int(PIPELINE["look_back"])
SEASON = int(PIPELINE.get("season_length", 12))
LAGS: tuple[int, ...] = {
    "none": (),
    "difference": (1,),
    "seasonal_difference": (SEASON,),
    "seasonal_and_first_difference": (SEASON, 1),
}[PIPELINE["transform"]]

model = keras.models.load_model(VERSION_DIR / "model.keras")
scaler = joblib.load(VERSION_DIR / "scaler.joblib")

app = FastAPI(title="naive Keras peer")


class PredictIn(BaseModel):
    values: list[float]
    horizon: int = 1


def difference(values: np.ndarray) -> np.ndarray:
    """Apply the manifest's differencing lags in order."""
    for lag in LAGS:
        values = values[lag:] - values[:-lag]
    return values


def next_value(history: np.ndarray) -> float:
    """One forecast in series units from the last look_back (+ differencing) values."""
    window = difference(history)[-LOOK_BACK:]
    x = scaler.transform(window.reshape(-1, 1)).reshape(1, LOOK_BACK, 1)
    step = float(scaler.inverse_transform(model.predict(x, verbose=0))[0, 0])
    # Differencing is linear with coefficient 1 on the newest value: solve for it.
    return step - float(difference(np.append(history, 0.0))[-1])


@app.get("/ready")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/v1/predict")
def predict(body: PredictIn) -> dict[str, list[float]]:
    history = np.asarray(body.values, dtype=float)
    forecast = []
    for _ in range(body.horizon):
        forecast.append(next_value(history))
        history = np.append(history, forecast[-1])
    return {"forecast": forecast}

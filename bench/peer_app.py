"""The naive peer: the usual "Keras model behind FastAPI" service, as blog posts deploy it.

    PEER_MODEL_DIR=models/milk/2 uvicorn bench.peer_app:app --host 127.0.0.1 --port 8001

It loads the same version directory as the service, with Keras and scikit-learn, at
import time: every member's `.keras` file and `scaler.joblib` (joblib itself). Per
request it builds the window with the version's own pipeline arithmetic (the same
NumPy code either way, so both do the same work), calls `model.predict` once per
member, averages, and turns the result back into series units. It answers the
same `POST /v1/predict` body with the same forecast as the service (the benchmark
checks that). It is given the benefit of the doubt where the usual code is worse: a
plain `def` endpoint (FastAPI's thread pool, not a blocked event loop) and
`verbose=0` (no progress bar printed per request).

Benchmark code only: it is never part of the service.
"""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import keras
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

from app.contract.manifest import Manifest
from app.contract.pipeline import as_rows, recursive_forecast
from app.contract.scalers import affine_from_sklearn

VERSION_DIR = Path(os.environ.get("PEER_MODEL_DIR", "models/milk/2"))
MANIFEST = Manifest.model_validate_json((VERSION_DIR / "manifest.json").read_bytes())
PIPELINE = MANIFEST.pipeline.spec()
MEMBERS = [keras.models.load_model(VERSION_DIR / name) for name in MANIFEST.networks]
SCALER = affine_from_sklearn(joblib.load(VERSION_DIR / "scaler.joblib"), "peer")

app = FastAPI(title="naive Keras peer")


class PredictIn(BaseModel):
    values: list[float]
    horizon: int = 1


def members_mean(inputs: np.ndarray) -> np.ndarray:
    x = inputs.astype(np.float32)
    return np.mean([m.predict(x, verbose=0)[:, 0] for m in MEMBERS], axis=0)


@app.get("/ready")
def ready() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/v1/predict")
def predict(body: PredictIn) -> dict[str, list[float]]:
    rows = as_rows([np.asarray(body.values, dtype=float)], PIPELINE.history_width)
    forecast = recursive_forecast(rows, body.horizon, PIPELINE, SCALER, members_mean)
    return {"forecast": forecast[0].tolist()}

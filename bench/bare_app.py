"""The ceiling for the HTTP path: bare FastAPI, the service's request model, a same-shaped answer.

No middleware, no dependencies, no model: the handler validates the same
`PredictRequest` body and returns a `PredictResponse` of the same size as the
service's (a horizon of forecasts and the 80 % and 95 % intervals), built once.
What `POST /v1/predict` costs above this is the service's own stack plus the
forecast. `async def` is the framework's fastest path (no thread-pool hop).

    uvicorn bench.bare_app:app --port 8001
"""

from __future__ import annotations

from fastapi import FastAPI

from app.v1.schemas import Interval, PredictRequest, PredictResponse

app = FastAPI()
_FORECAST = [862.4]
_ANSWER = PredictResponse(
    model="milk",
    version=2,
    series_id=None,
    horizon=1,
    periods=None,
    forecast=_FORECAST,
    intervals=[
        Interval(level=80.0, lower=[850.1], upper=[874.7]),
        Interval(level=95.0, lower=[843.9], upper=[880.9]),
    ],
    warnings=[],
)


@app.post("/v1/predict")
async def predict(body: PredictRequest) -> PredictResponse:
    return _ANSWER

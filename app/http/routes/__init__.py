"""HTTP routes: each parses a request, calls the registry or the data plane, renders the answer.

`ROUTERS` is the one list of what the app always serves; optional routers (the
benchmark's) are included by `app.main` only when their setting is on.
"""

from fastapi import APIRouter

from app.http.routes import health, metrics, models, predict, reload
from app.v2.routes import router as v2

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    metrics.router,
    models.router,
    reload.router,
    predict.router,
    v2,
)

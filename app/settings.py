"""Service settings, read from `FORECAST_*` environment variables.

Nothing reads them at import time: `get_settings()` builds them on first call
(the app calls it in its lifespan), and tests pass their own `Settings` to
`create_app` instead of patching the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.budget import MAX_LEVELS, MAX_WORK
from app.contract.intervals import Level, split_levels

LogLevel = Literal["debug", "info", "warning", "error"]


def _split_levels(value: Any) -> Any:
    """`FORECAST_DEFAULT_LEVELS=80,95` (or `[80, 95]`, or empty for none) as a list of numbers."""
    return split_levels(value) if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    """`FORECAST_LOG_LEVEL=INFO` works as well as `info`."""
    return value.lower() if isinstance(value, str) else value


class Settings(BaseSettings):
    """Every knob of the forecast service; each field is `FORECAST_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FORECAST_", extra="ignore", frozen=True)

    model_dir: Path = Field(
        default=Path("models"),
        description="Directory holding `<name>/<version>/` model directories.",
    )
    default_model: str = Field(
        default="milk",
        min_length=1,
        description="Model that `POST /v1/predict` uses and that `/ready` waits for.",
    )
    max_values: int = Field(
        default=10_000, ge=1, description="Most values accepted in one series (predict, evaluate)."
    )
    max_series: int = Field(
        default=1_000, ge=1, description="Most series accepted in one batch request."
    )
    max_horizon: int = Field(default=120, ge=1, description="Largest forecast horizon, in steps.")
    default_levels: Annotated[list[Level], NoDecode, BeforeValidator(_split_levels)] = Field(
        default=[80.0, 95.0],
        description=(
            "Prediction-interval levels (percent) a forecast gets when the request names none;"
            " comma-separated, empty for none. A request's own `levels` (`[]` for none) wins."
        ),
    )
    max_levels: int = Field(
        default=MAX_LEVELS,
        ge=1,
        description=(
            "Most interval levels one request may ask for (v1 `levels`, V2 `parameters.levels`"
            " or band outputs); more are refused before any is read."
        ),
    )
    max_work: int = Field(
        default=MAX_WORK,
        ge=1,
        description=(
            "Most work one request may ask for, in units: one per value posted, per ensemble"
            " member's forecast of one step for one series or backtest origin and per interval"
            " bound, and 100 per forecast step. Checked before any forecast starts; more is"
            " refused with the request's figure. 1,000,000 is about 1.6 s of one core; see"
            " `app/budget.py`."
        ),
    )
    max_in_flight: int = Field(
        default=32,
        ge=1,
        description=(
            "Most requests one worker handles at once (probes and /metrics not counted); more"
            " are refused at once with 503 and `Retry-After`, so a saturated worker keeps its"
            " latency and its probes instead of queueing without limit."
        ),
    )
    worker_threads: int = Field(
        default=2,
        ge=1,
        description=(
            "Threads that run forecasts in one worker. Forecasting is CPU work that holds"
            " Python's GIL, so more threads than cores only make the event loop (and the"
            " probes it answers) wait for the GIL; admitted requests queue for a thread instead."
        ),
    )
    max_body_bytes: int = Field(
        default=1 << 20, ge=1, description="Largest request body in bytes; larger bodies get 413."
    )
    body_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description=(
            "Longest a client may take to send a request body, from its headers to its last "
            "byte; a body that stalls or trickles gets 408 and the connection is closed "
            "(uvicorn's own timeout only covers idle connections between requests)."
        ),
    )
    extrapolation_margin: float = Field(
        default=0.5,
        ge=0,
        description=(
            "Inputs more than this fraction of the training range below its minimum or above "
            "its maximum are forecast but flagged in `warnings`, since the scaler then "
            "extrapolates."
        ),
    )
    api_keys: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "Comma-separated API keys. When any key is set (here or in `api_keys_file`), every "
            "/v1 and /v2 model endpoint needs `Authorization: Bearer <key>`; probes, /metrics "
            "and /docs stay open. Never logged."
        ),
    )
    api_keys_file: Path | None = Field(
        default=None,
        description=(
            "File of API keys (one per line or comma-separated), e.g. a mounted secret; read at "
            "startup and added to `api_keys`. A missing or empty file stops the startup."
        ),
    )
    enable_bench_routes: bool = Field(
        default=False,
        description=(
            "Benchmark only: adds `POST /bench/validate`, which checks a /v1/predict body and "
            "forecasts nothing. Leave off in production."
        ),
    )
    fast_lane: bool = Field(
        default=True,
        description=(
            "Answer valid forecast and evaluation requests without FastAPI's per-request "
            "routing and dependency solving (`app/http/fast_lane.py`): same answers, less CPU. "
            "`false` sends every request through FastAPI, to compare."
        ),
    )
    ui: bool = Field(
        default=True,
        description=(
            "Serve the page at `/` (models, forecasts, evaluation; a client of the public API, "
            "assets under `/ui/`). `false` leaves the page and its assets out: `/` is 404."
        ),
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address `python -m app` listens on; `0.0.0.0` in a container.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port `python -m app` listens on.")
    poll_seconds: float = Field(
        default=10,
        ge=0,
        description=(
            "How often the model directory is checked for new, changed or removed versions "
            "(hot reload); 0 turns polling off (`POST /v1/models/{name}/reload` still works)."
        ),
    )
    load_wait_seconds: float = Field(
        default=10,
        gt=0,
        description=(
            "Longest wait for one model's load (verify, read, warm up: milliseconds to a few"
            " seconds normally) at startup and in `POST /v1/models/{name}/reload`; the load then"
            " goes on in the background and is logged as slow: a model still loading at startup"
            " starts not ready (state `loading`), the reload answers 202, and polls (which never"
            " wait) skip the model until its load ends."
        ),
    )
    keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description=(
            "How long `python -m app` keeps an idle HTTP connection open. Longer than the "
            "~60 s idle timeout of common proxies and load balancers, so the server never "
            "closes a connection the proxy is about to reuse (uvicorn's 5 s default turns "
            "that race into occasional 502s)."
        ),
    )
    shutdown_seconds: int = Field(
        default=20,
        ge=1,
        description=(
            "After SIGTERM, how long requests in flight may take to finish before they are "
            "cancelled and the process exits; keep it under the orchestrator's grace period."
        ),
    )
    ledger: bool = Field(
        default=True,
        description=(
            "Record every forecast served for a known series and keep the actuals clients post "
            "(`/v1/models/{name}/observations`) in the ledger's database, to score them "
            "(`/v1/models/{name}/accuracy`); `false` turns the ledger off (its endpoints "
            "answer 503)."
        ),
    )
    ledger_queue: int = Field(
        default=200_000,
        ge=1,
        description=(
            "Forecast values (series x steps) a worker holds for the ledger while its database "
            "is slow or down; what does not fit is counted in `forecast_ledger_forecasts_dropped`"
            " and logged. Each takes tens of bytes while queued."
        ),
    )
    data_dir: Path = Field(
        default=Path("data"),
        description="Where the default SQLite ledger (`ledger.sqlite3`) is created.",
    )
    database_url: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "The ledger's database, as a SQLAlchemy URL (`postgresql+psycopg://user:password@"
            "host/db` for several workers or replicas); empty: SQLite in `FORECAST_DATA_DIR`."
            " A secret: it may hold a password."
        ),
    )
    log_level: Annotated[LogLevel, BeforeValidator(_lower)] = Field(
        default="info",
        description=(
            "Level of the service's JSON logs: `debug` adds a line per probe and /metrics request."
        ),
    )
    log_payloads: bool = Field(
        default=False,
        description=(
            "Add each request's body (truncated) to its log line. Off by default: posted series "
            "may be confidential. For debugging only."
        ),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment, read once, on first use."""
    return Settings()

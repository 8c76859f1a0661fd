"""Service settings, read from `FORECAST_*` environment variables.

Nothing reads them at import time: `get_settings()` builds them on first call
(the app calls it in its lifespan), and tests pass their own `Settings` to
`create_app` instead of patching the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_body_bytes: int = Field(
        default=1 << 20, ge=1, description="Largest request body in bytes; larger bodies get 413."
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings from the environment, read once, on first use."""
    return Settings()

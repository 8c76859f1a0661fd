"""Bodies of the probes: alive, and ready with the models served."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ServedModel(BaseModel):
    name: str
    version: int


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    ledger: Literal["ok", "degraded", "off"] = Field(
        description="The ledger's database: reachable, out of reach (forecasts still answer,"
        " the ledger's endpoints answer 503 until it reconnects), or turned off."
    )
    default_model: str | None = Field(
        default=None, description="The default model's name; left out when API keys are on."
    )
    models: list[ServedModel] | None = Field(
        default=None,
        description="Every model being served, with its version; left out when API keys are on"
        " (the key guards the model list).",
    )

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
    default_model: str
    models: list[ServedModel] = Field(description="Every model being served, with its version.")

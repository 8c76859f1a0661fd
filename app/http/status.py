"""Bodies of the probes and of model metadata: what is served, in which state and version."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.contract.manifest import ModelCard


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ServedModel(BaseModel):
    name: str
    version: int


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    default_model: str
    models: list[ServedModel] = Field(description="Every model being served, with its version.")


class ModelStatus(BaseModel):
    name: str
    state: Literal["ready", "loading", "failed"] = Field(
        description="`loading`: the model's first load has not finished yet."
    )
    version: int | None = Field(description="The served version; null when none verifies.")
    versions_on_disk: list[int]
    reason: str | None = Field(None, description="Why no version is served.")
    refused: dict[int, str] = Field(
        default_factory=dict, description="Versions that failed verification, with reasons."
    )


class ModelDetail(ModelCard):
    """The served version's card (the manifest but its hashes and library versions)."""

    versions_on_disk: list[int]

"""The manifest: what a model version directory is, written by training and checked by serving.

One pydantic model describes it, so training cannot write a manifest the
service would not accept. Unknown fields are refused: a manifest from a newer
format must bump `format_version` rather than slip past an older reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.contract.pipeline import PipelineSpec, Transform
from app.contract.scalers import SCALER_KINDS
from app.contract.scoring import Baseline, BaselineScores

FORMAT_VERSION: Literal[1] = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineInfo(_Strict):
    """The preprocessing contract: `app.contract.pipeline.PipelineSpec` plus the scaler's kind."""

    look_back: int
    transform: Transform
    scaler: str = Field(json_schema_extra={"enum": list(SCALER_KINDS)})
    season_length: int

    @model_validator(mode="after")
    def _check(self) -> PipelineInfo:
        """The rules are `PipelineSpec`'s and the scaler table's; they are not restated here."""
        self.spec()
        if self.scaler not in SCALER_KINDS:
            raise ValueError(f"scaler {self.scaler!r} is not one of {', '.join(SCALER_KINDS)}")
        return self

    def spec(self) -> PipelineSpec:
        return PipelineSpec(self.look_back, self.transform, self.season_length)


class LayerInfo(_Strict):
    kind: str
    units: int
    activation: str
    return_sequences: bool = False


class Architecture(_Strict):
    layers: list[LayerInfo]
    parameters: int = Field(ge=0)


class TrainingInfo(_Strict):
    preset: str
    epochs: int = Field(ge=1, description="Epochs asked for (the upper bound with early stopping).")
    epochs_run: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    seed: int
    learning_rate: float
    test_fraction: float = Field(gt=0, lt=1)
    validation_fraction: float = Field(ge=0, lt=1)
    early_stopping: bool
    wall_seconds: float = Field(ge=0)


class DataInfo(_Strict):
    file_name: str
    sha256: str
    n_points: int
    first_period: str
    last_period: str
    value_name: str
    train_points: int
    test_points: int
    train_min: float = Field(description="Smallest value in the training part.")
    train_max: float = Field(description="Largest value in the training part.")


class Scores(_Strict):
    n: int
    rmse: float
    mae: float
    mape: float | None
    mase: float | None = Field(
        description="MAE over the in-sample MAE of the seasonal naive on the train part."
    )


class Metrics(_Strict):
    """One-step-ahead scores; baselines are scored on exactly the test points."""

    train: Scores
    test: Scores
    baselines: dict[Baseline, BaselineScores]


class ModelCard(_Strict):
    """What a version says about itself publicly: `/v1/models/{name}` shows exactly this."""

    name: str
    version: int = Field(ge=1)
    created_at: datetime
    pipeline: PipelineInfo
    architecture: Architecture
    training: TrainingInfo
    data: DataInfo
    metrics: Metrics


class Manifest(ModelCard):
    """The card plus what only the loader needs: the format, library versions, file hashes."""

    format_version: Literal[1] = FORMAT_VERSION
    libraries: dict[str, str]
    files: dict[str, str] = Field(description="sha256 of every other file in the directory.")

"""The manifest: what a model version directory is, written by training and checked by serving.

One pydantic model describes it, so training cannot write a manifest the
service would not accept. Unknown fields are refused: a manifest from a newer
format must bump `format_version` rather than slip past an older reader.

Training writes format 7: format 6 plus the seasonal pipeline's flat memory of the season
(`flat_seasons`, `flat_weight`; absent: not used). Format 6 was format 5 plus the memory of
the level (`level_points`, `level_decay`, `level_weight`; absent: not used). Format 5 was
format 4 plus the long memory of the season (`long_seasons`, `long_decay`, `long_weight`;
absent: not used). Format 4 was format 3 plus what retraining needs (`training_data`, the
exact data the version was trained on, and `training.options`, what the command line chose)
and, for a version trained `--from-store`, what the ledger added (`data.ledger`). Format 3
added the version's series (`series`, the table in `app.contract.series`), the panel's
aggregate scores and how the served weights were fitted (`training.refit`). Formats 1 to 6
are still read: each one's missing fields mean what was true of every version it wrote
(format 6: no flat memory; format 5: no level; format 4: no long memory; format 3: no
training data kept; format 2: one series, no table, no refit), and format 1 (single network,
monthly series, no intervals) is upgraded on the way in by `_upgrade_format_1`, so the
versions they wrote keep serving; `tests/contract/test_manifest.py` loads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.contract.calendar import Frequency
from app.contract.differencing import DifferencingPipeline, Transform
from app.contract.pipeline import Pipeline
from app.contract.scalers import SCALER_KINDS
from app.contract.scoring import Baseline, BaselineScores
from app.contract.seasonal import SeasonalPipeline

FORMAT_VERSION: Literal[7] = 7
READABLE_FORMATS = (1, 2, 3, 4, 5, 6, 7)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ScaledInfo(_Strict):
    scaler: str = Field(json_schema_extra={"enum": list(SCALER_KINDS)})

    @model_validator(mode="after")
    def _check(self) -> _ScaledInfo:
        """The rules are the pipeline's and the scaler table's; they are not restated here."""
        self.spec()  # type: ignore[attr-defined]
        if self.scaler not in SCALER_KINDS:
            raise ValueError(f"scaler {self.scaler!r} is not one of {', '.join(SCALER_KINDS)}")
        return self


class DifferencingInfo(_ScaledInfo):
    """`app.contract.differencing.DifferencingPipeline` plus the scaler's kind."""

    kind: Literal["difference"]
    look_back: int
    transform: Transform
    season_length: int

    def spec(self) -> DifferencingPipeline:
        return DifferencingPipeline(self.look_back, self.transform, self.season_length)


def _share(default: float, description: str) -> Any:
    """A field for one of the pipeline's shares, each between 0 and 1."""
    return Field(default=default, ge=0, le=1, description=description)


class SeasonalInfo(_ScaledInfo):
    """`app.contract.seasonal.SeasonalPipeline` plus the scaler's kind."""

    kind: Literal["seasonal"]
    look_back: int
    season_length: int
    seasons: int = Field(description="K: seasons averaged into the seasonal index.")
    decay: float = Field(description="rho: weight of each older season against the next.")
    log: bool = Field(description="Whether the series is modelled in logs (decided by rule).")
    network_weight: float = _share(
        1.0,
        "w: the share of the network's correction each forecast uses (0: the"
        " pipeline alone); chosen on validation inside the training part. Absent before it"
        " was chosen: 1.",
    )
    long_seasons: int = Field(default=20, description="K': seasons in the long memory.")
    long_decay: float = Field(default=0.9, description="rho': the long memory's decay.")
    long_weight: float = _share(
        0.0,
        "m: the long memory's share of the seasonal index; chosen on validation"
        " inside the training part. Absent before format 5: 0.",
    )
    level_points: int = Field(default=10, description="P: deseasonalised values the level reads.")
    level_decay: float = Field(default=0.75, description="lambda: the level's decay.")
    level_weight: float = _share(
        0.0,
        "g: how far a forecast's anchor moves from the last deseasonalised value"
        " to the level; chosen on validation inside the training part. Absent before format 6:"
        " 0.",
    )
    flat_seasons: int = Field(default=40, description="K'': seasons in the flat memory.")
    flat_weight: float = _share(
        0.0,
        "f: the flat memory's share of the long memory's part of the seasonal index (m f in"
        " all); chosen on validation inside the training part. Absent before format 7: 0.",
    )

    def spec(self) -> SeasonalPipeline:
        return SeasonalPipeline(
            self.look_back,
            self.season_length,
            self.seasons,
            self.decay,
            self.log,
            self.network_weight,
            self.long_seasons,
            self.long_decay,
            self.long_weight,
            self.level_points,
            self.level_decay,
            self.level_weight,
            self.flat_seasons,
            self.flat_weight,
        )


PipelineInfo = Annotated[DifferencingInfo | SeasonalInfo, Field(discriminator="kind")]
"""The preprocessing contract of a version, by kind."""


def describe_pipeline(pipeline: Pipeline, scaler: str) -> DifferencingInfo | SeasonalInfo:
    """The manifest's record of a fitted pipeline: what `spec()` rebuilds exactly."""
    if isinstance(pipeline, SeasonalPipeline):
        return SeasonalInfo(
            kind="seasonal",
            scaler=scaler,
            look_back=pipeline.look_back,
            season_length=pipeline.season_length,
            seasons=pipeline.seasons,
            decay=pipeline.decay,
            log=pipeline.log,
            network_weight=pipeline.network_weight,
            long_seasons=pipeline.long_seasons,
            long_decay=pipeline.long_decay,
            long_weight=pipeline.long_weight,
            level_points=pipeline.level_points,
            level_decay=pipeline.level_decay,
            level_weight=pipeline.level_weight,
            flat_seasons=pipeline.flat_seasons,
            flat_weight=pipeline.flat_weight,
        )
    if not isinstance(pipeline, DifferencingPipeline):
        raise TypeError(f"no manifest record for a {type(pipeline).__name__}")
    return DifferencingInfo(
        kind="difference",
        scaler=scaler,
        look_back=pipeline.look_back,
        transform=pipeline.transform,
        season_length=pipeline.season_length,
    )


class LayerInfo(_Strict):
    kind: str
    units: int
    activation: str
    return_sequences: bool = False


class Architecture(_Strict):
    layers: list[LayerInfo]
    parameters: int = Field(ge=0, description="Per member.")
    members: int = Field(ge=1, description="Networks averaged into each forecast (an ensemble).")


class NetworkChoice(_Strict):
    """How much of the network the version uses (`pipeline.network_weight`), and why.

    Decided on the calibration refits' one-step forecasts inside the training part: per
    series, the weight that minimises their squared error, shrunk towards 0 by its
    standard error, so the network is used only as far as validation shows it helps
    (`training.shrinkage`). RMSEs are in the error space, each series' errors divided by
    its spread, over every validation forecast.
    """

    weight: float = Field(
        ge=0, le=1, description="The pooled weight: for series the version never saw."
    )
    points: int = Field(ge=0, description="Validation forecasts behind the choice.")
    rmse_alone: float = Field(description="Validation RMSE of the pipeline alone (w = 0).")
    rmse_network: float = Field(description="Validation RMSE with the whole network (w = 1).")
    rmse_chosen: float = Field(description="Validation RMSE at each series' chosen weight.")
    series_weights: list[float] = Field(
        description="The lowest, median and highest weight over the version's series."
    )
    series_without_network: float = Field(
        ge=0, le=1, description="Share of series forecast by the pipeline alone (weight 0)."
    )


class TrainingOptions(_Strict):
    """What the command line chose over the preset (null: the preset's or the data's choice).

    Recorded so that `--from-store` trains the next version by the same command on more
    data: an effective value would not do, since a preset's epochs follow from its steps
    and the data's size, and its batch grows with the data.
    """

    look_back: int | None = None
    units: int | None = None
    members: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    test_fraction: float | None = None
    test_periods: int | None = None
    season_length: int | None = None
    no_refit: bool = False


class TrainingInfo(_Strict):
    preset: str
    epochs: int = Field(
        ge=1, description="Epochs asked for (the upper bound when `early_stopping`)."
    )
    epochs_run: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    seed: int
    learning_rate: float
    test_fraction: float | None = Field(
        gt=0, lt=1, description="Share of each series held out; null when `test_periods` is set."
    )
    test_periods: int | None = Field(
        default=None, ge=1, description="Last periods of the common calendar held out."
    )
    refit: bool = Field(
        default=False,
        description="The served networks were refitted on all the data after scoring; the"
        " metrics are the evaluation fit's, on data it never saw.",
    )
    network: NetworkChoice | None = Field(
        default=None,
        description="How the network's share was chosen; null for pipelines without a"
        " network-free forecast and for versions written before it was chosen.",
    )
    validation_fraction: float = Field(ge=0, lt=1)
    early_stopping: bool  # milk/1 stopped early; the recipes since run every epoch
    wall_seconds: float = Field(ge=0)
    options: TrainingOptions | None = Field(
        default=None, description="The command line's choices; null before format 4."
    )


class LedgerAdditions(_Strict):
    """What a version trained `--from-store` took from the ledger on top of its base's data."""

    extends_version: int = Field(ge=1, description="The version whose training data it extends.")
    observations: int = Field(ge=0, description="Observations the ledger held for its series.")
    appended: int = Field(ge=0, description="Points added after their series' last period.")
    corrected: int = Field(ge=0, description="Training values an observation replaced.")
    unused: int = Field(
        ge=0,
        description="Observations not trained on: after a missing period, before their series"
        " begins or off its calendar.",
    )


class DataInfo(_Strict):
    file_name: str
    frequency: Frequency
    sha256: str
    n_points: int
    first_period: str
    last_period: str
    value_name: str
    train_points: int
    test_points: int
    train_min: float = Field(description="Smallest value in the training part.")
    train_max: float = Field(description="Largest value in the training part.")
    series: int = Field(default=1, ge=1, description="Series the version was trained on.")
    id_name: str | None = Field(default=None, description="The file's series id column.")
    ledger: LedgerAdditions | None = Field(
        default=None,
        description="Trained `--from-store`: `file_name` and `sha256` are then the extended"
        " version's training data; null: trained from a CSV.",
    )


class Scores(_Strict):
    n: int
    rmse: float
    mae: float
    mape: float | None
    mase: float | None = Field(
        description="MAE over the in-sample MAE of the seasonal naive on the train part."
    )


class IntervalScores(_Strict):
    """How one interval level did on the test part, one step ahead."""

    level: float
    coverage: float = Field(description="Share of test points inside the interval (0 to 1).")
    mean_width: float
    winkler: float = Field(description="Mean Winkler interval score, in series units.")


class StepScores(_Strict):
    """Test-part accuracy h steps ahead: a rolling-origin backtest, no refit."""

    step: int = Field(ge=1)
    n: int
    rmse: float
    mae: float


class WorstSeries(_Strict):
    series_id: str
    mase: float
    seasonal_naive_mase: float


class PanelScores(_Strict):
    """Scale-free aggregates over the series of a many-series version (test part)."""

    series: int = Field(description="Series with test points.")
    gm_mase_ratio: float = Field(
        description="Geometric mean over series of MASE / seasonal-naive MASE (as fev-bench)."
    )
    mean_mase: float
    coverage: dict[str, list[float]] = Field(
        description="Per level: the lowest, median and highest per-series one-step coverage."
    )
    worst: list[WorstSeries] = Field(description="Series with the highest MASE ratio.")
    gm_rmse_to_pipeline_alone: float | None = Field(
        default=None,
        description="Geometric mean over series of test RMSE / the pipeline alone's RMSE"
        " (null: no pipeline-alone baseline).",
    )
    network_hurts: float | None = Field(
        default=None,
        description="Share of series (0 to 1) whose test RMSE is above 1.01 x the pipeline"
        " alone's: where the network made the forecast worse.",
    )


class Metrics(_Strict):
    """Scores on the test part; baselines are scored on exactly the same points.

    For many series, `train`, `test`, the baselines and `steps` pool every series' points
    (in series units, so the largest series weigh most) and `panel` holds the scale-free
    aggregates; the per-series scores are in the series table.
    """

    train: Scores
    test: Scores
    baselines: dict[Baseline, BaselineScores]
    intervals: list[IntervalScores] = Field(description="One-step coverage per level.")
    steps: list[StepScores] = Field(description="Multi-step test accuracy, step 1..H.")
    panel: PanelScores | None = None


class IntervalInfo(_Strict):
    """The version's interval calibration, summarised (the residuals are in their own file)."""

    method: str
    space: str = Field(description="Where residuals are additive: `log` or `identity`.")
    horizon: int = Field(ge=1, description="Steps ahead intervals are calibrated for (H).")
    residuals_per_step: list[int] = Field(description="Calibration residuals behind each step.")
    origins: list[int] = Field(description="Refit origins inside the training part.")


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
    intervals: IntervalInfo | None = Field(description="Null when the version has no intervals.")


class SeriesInfo(_Strict):
    """Where the version's series table is, and its size, checked before it is parsed."""

    file: str = Field(description="The columns: ids, calendars, normalisation, test scores.")
    histories: str = Field(description="The (count, width) float64 `.npy` of latest values.")
    count: int = Field(ge=1)
    width: int = Field(ge=1, description="The pipeline's history_width.")


class TrainingData(_Strict):
    """The exact data a version was trained on (long format: `unique_id,ds,y`, ISO periods).

    Kept for `--from-store`, which checks `sha256` before parsing the file. Serving never
    reads it (it may be large), so it is described here and not listed in `files`.
    """

    file: str
    sha256: str
    rows: int = Field(ge=1, description="Data rows: one per series and period.")


class Manifest(ModelCard):
    """The card plus what only the loader needs: the format, files, library versions, hashes."""

    format_version: Literal[1, 2, 3, 4, 5, 6, 7] = FORMAT_VERSION
    series: SeriesInfo | None = Field(default=None, description="Null before format 3.")
    networks: list[str] = Field(min_length=1, description="The ensemble members' .keras files.")
    calibration: str | None = Field(description="The interval calibration file, if any.")
    libraries: dict[str, str]
    files: dict[str, str] = Field(
        description="sha256 of every other file in the directory, but the training data."
    )
    training_data: TrainingData | None = Field(
        default=None, description="The data the version was trained on; null: not kept."
    )

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("format_version") == 1:
            return _upgrade_format_1(raw)
        return raw


def _upgrade_format_1(raw: dict[str, Any]) -> dict[str, Any]:
    """Format 1 in format 2's terms: what it left unsaid was true of every version it wrote
    (one network, a monthly series, the differencing pipeline, no intervals)."""
    metrics = raw.get("metrics")
    pipeline = raw.get("pipeline")
    return {
        **raw,
        "pipeline": {**pipeline, "kind": "difference"} if isinstance(pipeline, dict) else pipeline,
        "architecture": {**raw.get("architecture", {}), "members": 1},
        "data": {**raw.get("data", {}), "frequency": Frequency.MONTHLY},
        "metrics": {**metrics, "intervals": [], "steps": []}
        if isinstance(metrics, dict)
        else metrics,
        "intervals": None,
        "networks": ["model.keras"],
        "calibration": None,
    }

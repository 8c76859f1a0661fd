"""Request and response bodies of the v1 API, with the examples OpenAPI shows.

Values must be finite JSON numbers: strict floats refuse strings, booleans,
null and nested lists, and `allow_inf_nan=False` refuses NaN and Infinity
(which Python's JSON parser would otherwise accept). Limits that depend on
settings (values per series, series per batch, largest horizon, levels, the work
budget) are checked by the data plane, since a class cannot read settings at
import time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.answers import Forecasts, Scored
from app.contract.manifest import IntervalScores, ModelCard, StepScores
from app.contract.scoring import Baseline, BaselineScores
from app.contract.series import SeriesId
from app.http.fields import Horizon, Level, Period, Value
from app.queries import SeriesQuery
from app.v1.examples import EVALUATED, MILK, examples, one_given


def _levels_field() -> Any:
    """How many levels a request may name is a setting (FORECAST_MAX_LEVELS, 10 by default),
    so the data plane checks it (`app.budget`), alike for v1 and V2, not this schema."""
    return Field(
        None,
        description=(
            "Prediction-interval levels in percent, e.g. [80, 95]; [] for none. Omitted: the"
            " server's default levels (FORECAST_DEFAULT_LEVELS), when the model has intervals."
            " At most FORECAST_MAX_LEVELS (10 by default)."
        ),
    )


class PredictRequest(BaseModel):
    model_config = examples(
        {"values": MILK[-37:], "horizon": 3, "levels": [80, 95]},
        {"series_id": "milk", "horizon": 3},
        {"values": MILK[-37:], "start": "1972-12", "horizon": 3},
        rules={
            "anyOf": one_given(("values", {"type": "array"}), ("series_id", {"type": "string"}))
        },
    )

    series_id: SeriesId | None = Field(
        None,
        description="A series the model was trained on: forecast from its stored history"
        " (`GET /v1/models/{name}/series` lists them). With `values`, they are appended to it.",
    )
    values: list[Value] | None = Field(
        None,
        min_length=1,
        description="Recent values, oldest first; the model uses the last ones. Without"
        " `series_id`: a series of the model's kind it may never have seen.",
    )
    start: Period | None = Field(
        None,
        description="The period of the first posted value (e.g. `2019-07`): the answer then"
        " dates its forecast. With `series_id`, it must follow the stored history's end.",
    )
    horizon: Horizon = 1
    levels: list[Level] | None = _levels_field()

    @model_validator(mode="after")
    def _named_or_posted(self) -> PredictRequest:
        if self.series_id is None and self.values is None:
            raise ValueError("give values, a series_id, or both")
        return self

    def query(self) -> SeriesQuery:
        return SeriesQuery(self.series_id, self.values, self.start)


class BatchPredictRequest(BaseModel):
    model_config = examples(
        {"series": [MILK[-37:], MILK[-38:-1]], "horizon": 2},
        {"series_ids": ["milk"], "horizon": 2},
        rules={
            "oneOf": one_given(("series", {"type": "array"}), ("series_ids", {"type": "array"}))
        },
    )

    series: list[Annotated[list[Value], Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        description="Several histories, each oldest first; forecast in one pass.",
    )
    series_ids: list[SeriesId] | None = Field(
        None, min_length=1, description="Series the model knows, forecast from their histories."
    )
    horizon: Horizon = 1
    levels: list[Level] | None = _levels_field()

    @model_validator(mode="after")
    def _one_kind(self) -> BatchPredictRequest:
        if (self.series is None) == (self.series_ids is None):
            raise ValueError("give either series (values) or series_ids")
        return self

    @property
    def size(self) -> int:
        return len(self.series or self.series_ids or ())


class EvaluateRequest(BaseModel):
    model_config = examples({"values": MILK, "horizon": 6, "levels": [80, 95]})

    values: list[Value] = Field(
        min_length=2, description="A series; every point with enough history is forecast."
    )
    horizon: Horizon = Field(
        1, description="Beyond 1: also a rolling-origin backtest scoring each step 1..horizon."
    )
    levels: list[Level] | None = _levels_field()


class Interval(BaseModel):
    level: float
    lower: list[float] = Field(description="Lower bound per step.")
    upper: list[float] = Field(description="Upper bound per step.")


class BatchInterval(BaseModel):
    level: float
    lower: list[list[float]] = Field(description="Lower bounds, one list per posted series.")
    upper: list[list[float]] = Field(description="Upper bounds, one list per posted series.")


def _warnings() -> Any:
    return Field(
        default_factory=list,
        description="Inputs far outside the training range, a baseline left out, and the like.",
    )


class _Answer(BaseModel):
    model: str = Field(description="The model that answered.")
    version: int = Field(description="Its version.")


class PredictResponse(_Answer):
    model_config = examples(
        {
            "model": "milk",
            "version": 1,
            "series_id": "milk",
            "horizon": 3,
            "periods": ["1976-01", "1976-02", "1976-03"],
            "forecast": [862.4, 815.9, 922.4],
            "warnings": [],
        }
    )

    series_id: str | None = Field(None, description="The series asked for by id, if any.")
    horizon: int
    periods: list[str] | None = Field(
        None, description="The forecast's periods, when the calendar is known."
    )
    forecast: list[float] = Field(description="The next `horizon` values, in series units.")
    intervals: list[Interval] = Field(description="One prediction interval per level.")
    warnings: list[str] = _warnings()

    @classmethod
    def of(cls, answer: Forecasts) -> PredictResponse:
        bands = [
            Interval(level=b.level, lower=b.lower[0].tolist(), upper=b.upper[0].tolist())
            for b in answer.intervals
        ]
        return cls(
            model=answer.model,
            version=answer.version,
            series_id=answer.series_ids[0] if answer.series_ids else None,
            horizon=answer.horizon,
            periods=answer.periods[0] if answer.periods else None,
            forecast=answer.values[0].tolist(),
            intervals=bands,
            warnings=answer.warnings,
        )


class BatchPredictResponse(_Answer):
    model_config = examples(
        {"model": "milk", "version": 1, "horizon": 2, "forecasts": [[862.4, 815.9], [834.7, 860.7]]}
    )

    series_ids: list[str | None] | None = Field(
        None, description="The series of each row, when asked for by id."
    )
    horizon: int
    periods: list[list[str]] | None = Field(
        None, description="Each row's forecast periods ([] where not known)."
    )
    forecasts: list[list[float]] = Field(description="One forecast list per posted series.")
    intervals: list[BatchInterval] = Field(description="One prediction interval per level.")
    warnings: list[str] = _warnings()

    @classmethod
    def of(cls, answer: Forecasts) -> BatchPredictResponse:
        # Built unvalidated: the lists come from float64 arrays, so they already have the
        # declared types, and validating them costs a large batch milliseconds (BENCHMARKS.md).
        bands = [
            BatchInterval.model_construct(
                level=b.level, lower=b.lower.tolist(), upper=b.upper.tolist()
            )
            for b in answer.intervals
        ]
        return cls.model_construct(
            model=answer.model,
            version=answer.version,
            series_ids=answer.series_ids,
            horizon=answer.horizon,
            periods=answer.periods,
            forecasts=answer.values.tolist(),
            intervals=bands,
            warnings=answer.warnings,
        )


class EvaluateResponse(_Answer):
    model_config = examples(
        {
            "model": "milk",
            "version": 1,
            "n": 17,
            "rmse": 9.1,
            "mae": 7.8,
            "mape": 0.93,
            "mase": 0.63,
            "predictions": EVALUATED,
            "actuals": MILK[-17:],
            "baselines": {
                "persistence": {"rmse": 45.8, "mae": 39.2},
                "seasonal_naive": {"rmse": 16.6, "mae": 13.2},
            },
            "warnings": [],
        }
    )

    n: int = Field(description="Points forecast: those with a full history before them.")
    rmse: float
    mae: float
    mape: float | None = Field(description="Percent; null when an actual value is zero.")
    mase: float | None = Field(description="MAE over the series' own seasonal naive MAE.")
    predictions: list[float] = Field(description="One-step forecasts, aligned with `actuals`.")
    actuals: list[float] = Field(description="The last `n` values of the series.")
    baselines: dict[Baseline, BaselineScores | None] = Field(
        description="Naive forecasts scored on the same points; null (see warnings) if unavailable."
    )
    intervals: list[IntervalScores] = Field(
        description="Per level, the one-step intervals' coverage (0 to 1), mean width and Winkler"
        " score on the posted series."
    )
    backtest: list[StepScores] = Field(
        description="With horizon > 1: forecasts of 1..horizon steps from every origin (no"
        " refit), scored per step."
    )
    warnings: list[str] = _warnings()

    @classmethod
    def of(cls, answer: Scored) -> EvaluateResponse:
        result = answer.evaluation
        return cls(
            model=answer.model,
            version=answer.version,
            n=len(result.targets),
            rmse=result.rmse,
            mae=result.mae,
            mape=result.mape,
            mase=result.mase,
            predictions=result.predictions.tolist(),
            actuals=result.actuals.tolist(),
            baselines=result.baselines,
            intervals=result.intervals,
            backtest=result.steps,
            warnings=answer.warnings,
        )


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

"""Request and response bodies of the HTTP API, with the examples OpenAPI shows.

Values must be finite JSON numbers: strict floats refuse strings, booleans,
null and nested lists, and `allow_inf_nan=False` refuses NaN and Infinity
(which Python's JSON parser would otherwise accept). Limits that depend on
settings (values per series, series per batch, largest horizon) are checked by
the data plane, since a class cannot read settings at import time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.contract.manifest import ModelCard
from app.contract.scoring import Baseline, BaselineScores
from app.dataplane import Forecasts, Scored

Value = Annotated[float, Field(strict=True, allow_inf_nan=False)]


def _whole_number(value: Any) -> Any:
    """`3.0` as `3`: JSON Schema's `integer` (what OpenAPI documents) includes it, and some
    clients write every number with a decimal point. Fractions, strings and booleans stay
    refused by the strict check."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Horizon = Annotated[
    int,
    Field(strict=True, ge=1, description="Steps to forecast; beyond 1, forecasts are fed back."),
    BeforeValidator(_whole_number),  # after Field, or the schema says `ge` for `minimum`
]


def _numbers(text: str) -> list[float]:
    return [float(v) for v in text.split()]


# Monthly milk production, pounds per cow, 1972-01 to 1975-12: the last four years of the series.
_MILK = _numbers(
    "826 799 890 900 961 935 894 855 809 810 766 805 821 773 883 898 957 924 881 837 784 791 760"
    " 802 828 778 889 902 969 947 908 867 815 812 773 813 834 782 892 903 966 937 896 858 817 827"
    " 797 843"
)
# What the default model's one-step forecasts of the last 17 of those months look like.
_EVALUATED = _numbers(
    "851.8 810.2 804.3 769.2 803.5 824.5 771.6 892.6 905.0 969.1 944.4 901.1 860.6 805.9 809.6"
    " 783.0 834.7"
)


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class PredictRequest(BaseModel):
    model_config = _examples({"values": _MILK[-37:], "horizon": 3})

    values: list[Value] = Field(
        min_length=1, description="Recent values, oldest first; the model uses the last ones."
    )
    horizon: Horizon = 1


class BatchPredictRequest(BaseModel):
    model_config = _examples({"series": [_MILK[-37:], _MILK[-38:-1]], "horizon": 2})

    series: list[Annotated[list[Value], Field(min_length=1)]] = Field(
        min_length=1, description="Several histories, each oldest first; forecast in one pass."
    )
    horizon: Horizon = 1


class EvaluateRequest(BaseModel):
    model_config = _examples({"values": _MILK})

    values: list[Value] = Field(
        min_length=2, description="A series; every point with enough history is forecast."
    )


def _warnings() -> Any:
    return Field(
        default_factory=list,
        description="Inputs far outside the training range, a baseline left out, and the like.",
    )


class _Answer(BaseModel):
    model: str = Field(description="The model that answered.")
    version: int = Field(description="Its version.")


class PredictResponse(_Answer):
    model_config = _examples(
        {
            "model": "milk",
            "version": 1,
            "horizon": 3,
            "forecast": [862.4, 815.9, 922.4],
            "warnings": [],
        }
    )

    horizon: int
    forecast: list[float] = Field(description="The next `horizon` values, in series units.")
    warnings: list[str] = _warnings()

    @classmethod
    def of(cls, answer: Forecasts) -> PredictResponse:
        return cls(
            model=answer.model,
            version=answer.version,
            horizon=answer.horizon,
            forecast=answer.values[0].tolist(),
            warnings=answer.warnings,
        )


class BatchPredictResponse(_Answer):
    model_config = _examples(
        {"model": "milk", "version": 1, "horizon": 2, "forecasts": [[862.4, 815.9], [834.7, 860.7]]}
    )

    horizon: int
    forecasts: list[list[float]] = Field(description="One forecast list per posted series.")
    warnings: list[str] = _warnings()

    @classmethod
    def of(cls, answer: Forecasts) -> BatchPredictResponse:
        return cls(
            model=answer.model,
            version=answer.version,
            horizon=answer.horizon,
            forecasts=answer.values.tolist(),
            warnings=answer.warnings,
        )


class EvaluateResponse(_Answer):
    model_config = _examples(
        {
            "model": "milk",
            "version": 1,
            "n": 17,
            "rmse": 9.1,
            "mae": 7.8,
            "mape": 0.93,
            "mase": 0.63,
            "predictions": _EVALUATED,
            "actuals": _MILK[-17:],
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
            warnings=answer.warnings,
        )


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
    state: Literal["ready", "failed"]
    version: int | None = Field(description="The served version; null when none verifies.")
    versions_on_disk: list[int]
    reason: str | None = Field(None, description="Why no version is served.")
    refused: dict[int, str] = Field(
        default_factory=dict, description="Versions that failed verification, with reasons."
    )


class ModelDetail(ModelCard):
    """The served version's card (the manifest but its hashes and library versions)."""

    versions_on_disk: list[int]

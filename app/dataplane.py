"""The work behind the prediction endpoints, free of HTTP: check, forecast, score, describe.

Routes parse a body and call one method here; a future protocol (the Open
Inference Protocol's `infer`) calls the same methods. Every refusal is an
`InvalidInput` naming the field at fault, and every number leaving here is
finite, so a response can always be rendered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app import metrics
from app.contract.scoring import Baseline, BaselineScores
from app.errors import InvalidInput
from app.forecaster import Evaluation, Forecaster
from app.http.schemas import (
    BatchPredictRequest,
    BatchPredictResponse,
    EvaluateRequest,
    EvaluateResponse,
    PredictRequest,
    PredictResponse,
)
from app.registry import Registry
from app.settings import Settings


class DataPlane:
    """Answers predict and evaluate requests from the registry's served versions."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings

    def predict(self, name: str, request: PredictRequest) -> PredictResponse:
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(request.horizon)
        forecasts, warnings = self._forecast(
            forecaster, [request.values], ["values"], request.horizon
        )
        return PredictResponse(
            model=forecaster.name,
            version=forecaster.number,
            horizon=request.horizon,
            forecast=forecasts[0].tolist(),
            warnings=warnings,
        )

    def predict_batch(self, name: str, request: BatchPredictRequest) -> BatchPredictResponse:
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(request.horizon)
        if len(request.series) > self.settings.max_series:
            raise InvalidInput.at("series", f"at most {self.settings.max_series} series per batch")
        fields = [f"series[{i}]" for i in range(len(request.series))]
        forecasts, warnings = self._forecast(forecaster, request.series, fields, request.horizon)
        return BatchPredictResponse(
            model=forecaster.name,
            version=forecaster.number,
            horizon=request.horizon,
            forecasts=forecasts.tolist(),
            warnings=warnings,
        )

    def validate(self, name: str, request: PredictRequest) -> None:
        """Every check `predict` makes, without forecasting: the ceiling benchmarks compare with."""
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(request.horizon)
        self._history(forecaster, request.values, "values")

    def evaluate(self, name: str, request: EvaluateRequest) -> EvaluateResponse:
        forecaster = self.registry.served(name).forecaster
        series = self._history(forecaster, request.values, "values", extra=1)
        result = forecaster.evaluate(series)
        _require_finite(result.predictions[np.newaxis], ["values"])
        _require_finite_scores(result)
        baselines = result.baselines
        return EvaluateResponse(
            model=forecaster.name,
            version=forecaster.number,
            n=len(result.targets),
            rmse=result.rmse,
            mae=result.mae,
            mape=result.mape,
            mase=result.mase,
            predictions=result.predictions.tolist(),
            actuals=result.actuals.tolist(),
            baselines=baselines,
            warnings=[
                w
                for w in (_range_warnings(forecaster, series, "values"), _baseline_note(baselines))
                if w
            ],
        )

    def _forecast(
        self,
        forecaster: Forecaster,
        series: Sequence[Sequence[float]],
        fields: Sequence[str],
        horizon: int,
    ) -> tuple[np.ndarray, list[str]]:
        """Forecast the tail of every series in one vectorised pass; warn about odd inputs."""
        length = forecaster.history_length
        pairs = list(zip(series, fields, strict=True))
        tails = np.stack([self._history(forecaster, v, f)[-length:] for v, f in pairs])
        forecasts = forecaster.forecast(tails, horizon)
        _require_finite(forecasts, fields)
        metrics.record_forecasts(forecaster.name, forecaster.number, len(tails), horizon)
        warnings = [_range_warnings(forecaster, t, f) for t, f in zip(tails, fields, strict=True)]
        return forecasts, [w for w in warnings if w]

    def _history(
        self, forecaster: Forecaster, values: Sequence[float], field: str, extra: int = 0
    ) -> np.ndarray:
        """The values as an array, refused if too many or too few for this model."""
        if len(values) > self.settings.max_values:
            raise InvalidInput.at(
                field, f"at most {self.settings.max_values} values, got {len(values)}"
            )
        need = forecaster.history_length + extra
        if len(values) < need:
            raise InvalidInput.at(field, f"{_need(forecaster, extra)}, got {len(values)}")
        return np.asarray(values, dtype=np.float64)

    def _check_horizon(self, horizon: int) -> None:
        if horizon > self.settings.max_horizon:
            raise InvalidInput.at("horizon", f"at most {self.settings.max_horizon}, got {horizon}")


def _need(forecaster: Forecaster, extra: int) -> str:
    """Say how many values the model needs, and why."""
    spec, name = forecaster.spec, f"model {forecaster.name!r}"
    why = f"look_back {spec.look_back}"
    if spec.context:
        why += f" + {spec.context} consumed by {spec.transform.value.replace('_', ' ')}"
    if extra:
        why += f" + {extra} to forecast"
        return f"{name} needs at least {spec.history_length + extra} values to evaluate ({why})"
    return f"{name} needs at least {spec.history_length} values ({why})"


def _require_finite(forecasts: np.ndarray, fields: Sequence[str]) -> None:
    """Refuse rows (one per field) that overflowed: JSON has no NaN or Infinity to send back."""
    bad = np.flatnonzero(~np.isfinite(forecasts).all(axis=1))
    if len(bad):
        raise InvalidInput.at(
            fields[bad[0]], "the forecast overflowed: values too far outside the training range"
        )


def _require_finite_scores(result: Evaluation) -> None:
    """Squared errors of huge values overflow even when every forecast is finite."""
    pairs = [(b.rmse, b.mae) for b in result.baselines.values() if b is not None]
    scores = [result.rmse, result.mae, result.mape, result.mase, *(x for p in pairs for x in p)]
    if not np.isfinite([x for x in scores if x is not None]).all():
        raise InvalidInput.at(
            "values", "the scores overflowed: values too far outside the training range"
        )


def _range_warnings(forecaster: Forecaster, values: np.ndarray, field: str) -> str | None:
    """A warning when inputs lie far outside the training range: the scaler extrapolates there."""
    outside = int(forecaster.far_outside(values).sum())
    if not outside:
        return None
    data, (low, high) = forecaster.manifest.data, forecaster.safe_range
    return (
        f"{field}: {outside} of the {len(values)} values used lie outside {low:g} to {high:g},"
        f" far beyond the training range {data.train_min:g} to {data.train_max:g}; the model"
        " extrapolates there, so treat the forecast with caution"
    )


def _baseline_note(baselines: dict[Baseline, BaselineScores | None]) -> str | None:
    if baselines["seasonal_naive"] is not None:
        return None
    return (
        "seasonal_naive: not computed; the series is too short for it, since the first point"
        " forecast has less than one season of values before it"
    )

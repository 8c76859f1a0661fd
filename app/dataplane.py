"""The work behind every forecasting endpoint, free of HTTP: check, forecast, score, describe.

Routes of both protocols (v1 JSON and the Open Inference Protocol) parse their
bodies into plain values, call one method here and render the domain answer it
returns (`Forecasts`, `Scored`) in their own shape. Every refusal is an
`InvalidInput` naming the field at fault in the caller's own terms (`fields`),
and every number leaving here is finite, so an answer can always be rendered.
What a request may cost (`app.budget`) is checked here too, before any forecast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app import metrics
from app.answers import Forecasts, Levels, Naming, Rows, Scored, Values
from app.budget import Work, check_levels, check_work
from app.coalescing import Coalescer
from app.errors import InvalidInput
from app.evaluation import baseline_notes, evaluate, require_finite_scores
from app.forecaster import Band, Forecaster, Prediction
from app.ledger.service import LedgerService
from app.queries import (
    Resolved,
    SeriesQuery,
    by_ids,
    last_period,
    periods_after,
    resolve,
    values_only,
)
from app.registry import Registry
from app.settings import Settings

OVERFLOW = "the forecast overflowed: values too far outside the training range"
"""JSON has no NaN or Infinity to send back, so a row that overflows is refused."""


class DataPlane:
    """Answers predict and evaluate requests from the registry's served versions."""

    def __init__(
        self, registry: Registry, settings: Settings, ledger: LedgerService | None = None
    ) -> None:
        self.registry = registry
        self._settings = settings
        self.ledger = ledger
        self.actuals = None if ledger is None else ledger.actuals
        # One-series forecasts that arrive together, answered in one pass.
        self.coalescer = Coalescer(self.predict_each)

    @property
    def default_model(self) -> str:
        """The model `/v1/predict` serves when no name is given."""
        return self._settings.default_model

    def predict(
        self,
        name: str,
        values: Values,
        horizon: int,
        levels: Levels | None = None,
        field: str = "values",
    ) -> Forecasts:
        """Forecast one series; errors name it `field`. `levels` None: the default levels."""
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(horizon)
        self._check_length(forecaster, len(values), field)
        return self._forecast(forecaster, values_only([values]), [field], horizon, levels)

    def predict_each(
        self,
        name: str,
        series: Sequence[Values],
        horizon: int,
        levels: Levels | None = None,
        naming: Naming = Naming(),
        starts: Sequence[str | None] | None = None,
    ) -> list[Forecasts | InvalidInput]:
        """Each posted series' forecast, as it would be answered alone, in one vectorised pass.

        For requests that arrive together (`app.coalescing`): each is checked on its own
        and gets its own answer or refusal; a row that is too short, too costly, starts at
        no period of the model's calendar or overflows refuses only that row. A refusal
        that concerns them all (no such model, a horizon or levels it cannot serve) is
        raised, for all. `starts` gives each series' first period, if known: its answer
        then carries the periods it forecasts, as `predict_queries` gives them.
        """
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(horizon)
        chosen, notes = self._interval_levels(forecaster, levels, horizon)
        members, frequency = forecaster.network.members, forecaster.manifest.data.frequency
        answers: list[Forecasts | InvalidInput | None] = []
        ends: list[str | None] = []
        kept: list[int] = []
        for values, start in zip(series, starts or [None] * len(series), strict=True):
            try:
                self._check_length(forecaster, len(values), naming.values)
                end = (
                    None
                    if start is None
                    else last_period(start, len(values), frequency, naming.start)
                )
                work = Work.forecast(1, len(values), horizon, members, len(chosen))
                check_work(work, self._settings.max_work)
            except InvalidInput as refusal:
                answers.append(refusal)
                ends.append(None)
            else:  # None: refused for overflow unless its forecast below turns out finite
                answers.append(None)
                ends.append(end)
                kept.append(len(answers) - 1)
        field = naming.row
        if not kept:
            return _overflowed(answers, field)
        prediction = forecaster.predict([series[i] for i in kept], horizon, chosen)
        finite = _finite_rows(prediction)
        if prediction.overflow is not None and chosen and not prediction.bands:
            # A row's values overflowed, so the forecaster computed no band for any row:
            # the others once more, without it.
            kept = [i for i, ok in zip(kept, finite.tolist(), strict=True) if ok]
            if not kept:
                return _overflowed(answers, field)
            prediction = forecaster.predict([series[i] for i in kept], horizon, chosen)
            finite = _finite_rows(prediction)
        metrics.record_forecasts(forecaster.name, forecaster.version, int(finite.sum()), horizon)
        periods = periods_after([ends[i] for i in kept], frequency, horizon)
        for row, i in enumerate(kept):
            if not finite[row]:
                continue
            note = prediction.notes.get(row)
            answers[i] = Forecasts(
                model=forecaster.name,
                version=forecaster.version,
                horizon=horizon,
                values=prediction.values[row : row + 1],
                warnings=[w for w in [*notes, note and f"{field}: {note}"] if w],
                intervals=[
                    Band(band.level, band.lower[row : row + 1], band.upper[row : row + 1])
                    for band in prediction.bands
                ],
                periods=[periods[row]] if periods is not None and ends[i] else None,
            )
        return _overflowed(answers, field)

    def predict_batch(
        self,
        name: str,
        series: Rows,
        horizon: int,
        levels: Levels | None = None,
        field: str = "series",
    ) -> Forecasts:
        """Forecast several series in one vectorised pass; errors name row i `field[i]`."""
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(horizon)
        self._check_batch(len(series), field)
        lengths = [len(values) for values in series]
        if lengths and (
            min(lengths) < forecaster.history_length or max(lengths) > self._settings.max_values
        ):  # one pass for the whole batch; the row at fault is found and named only then
            for i, n in enumerate(lengths):
                self._check_length(forecaster, n, f"{field}[{i}]")
        fields = [f"{field}[{i}]" for i in range(len(series))]
        return self._forecast(forecaster, values_only(series), fields, horizon, levels)

    def predict_ids(
        self,
        name: str,
        ids: Sequence[str],
        horizon: int,
        levels: Levels | None = None,
        field: str = "series_ids",
    ) -> Forecasts:
        """Forecast series the version knows from their stored histories, by id."""
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(horizon)
        self._check_batch(len(ids), field)
        resolved = by_ids(forecaster, ids, field, self.actuals)
        fields = [f"{field}[{i}]" for i in range(len(ids))] if len(ids) > 1 else [field]
        return self._forecast(forecaster, resolved, fields, horizon, levels, list(ids))

    def predict_queries(
        self,
        name: str,
        queries: Sequence[SeriesQuery],
        horizon: int,
        levels: Levels | None = None,
        field: str = "",
    ) -> Forecasts:
        """Forecast series given by id, by values, or both, with starts (`app.queries`).

        One query is named by its own fields in errors (`values`, `series_id`), many by
        `field[i]`.
        """
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(horizon)
        self._check_batch(len(queries), field)
        fields = [f"{field}[{i}]" for i in range(len(queries))] if len(queries) > 1 else [field]
        for query, at in zip(queries, fields, strict=True):
            posted = len(query.values) if query.values is not None else 0
            values_field = f"{at}.values" if at else "values"
            if posted > self._settings.max_values:
                raise InvalidInput.at(
                    values_field, f"at most {self._settings.max_values} values, got {posted}"
                )
            if query.series_id is None:
                self._check_length(forecaster, posted, values_field)
        resolved = resolve(forecaster, queries, fields, self.actuals)
        ids = [q.series_id for q in queries]
        named = ids if any(sid is not None for sid in ids) else None
        return self._forecast(forecaster, resolved, fields, horizon, levels, named)

    def validate(self, name: str, values: Values, horizon: int) -> None:
        """Every check `predict` makes, without forecasting: the ceiling benchmarks compare with."""
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(horizon)
        self._history(forecaster, values, "values")
        check_work(self.forecast_work(name, 1, len(values), horizon, None), self._settings.max_work)

    def forecast_work(
        self, name: str, series: int, values: int | None, horizon: int, levels: int | None
    ) -> Work:
        """What a forecast of these sizes costs (`levels` None: the default levels), judged
        before the request is checked or decoded: the routes choose where to run it by this.
        `values` None: series by id, each read at its stored width."""
        forecaster = self.registry.served(name).forecaster
        if values is None:
            values = series * forecaster.pipeline.history_width
        members = forecaster.network.members
        return Work.forecast(series, values, horizon, members, self._level_count(levels))

    def evaluate_work(self, name: str, values: int, horizon: int, levels: int | None) -> Work:
        """What an evaluate of these sizes costs, judged like `forecast_work`."""
        forecaster = self.registry.served(name).forecaster
        origins = max(values - forecaster.history_length, 0)
        members = forecaster.network.members
        return Work.evaluate(values, origins, horizon, members, self._level_count(levels))

    def evaluate(
        self, name: str, values: Values, horizon: int = 1, levels: Levels | None = None
    ) -> Scored:
        """One-step scores of a posted series; `horizon` > 1 adds the multi-step backtest."""
        forecaster = self.registry.served(name).forecaster
        self._check_horizon(horizon)
        series = self._history(forecaster, values, "values", extra=1)
        chosen, notes = self._interval_levels(forecaster, levels, 1)
        origins = len(series) - forecaster.history_length
        members = forecaster.network.members
        work = Work.evaluate(len(series), origins, horizon, members, len(chosen))
        check_work(work, self._settings.max_work)
        result = evaluate(forecaster, series, chosen, horizon)
        if not np.isfinite(result.predictions).all():
            raise InvalidInput.at("values", OVERFLOW)
        require_finite_scores(result)
        notes += [
            *(f"values: {note}" for note in forecaster.range_notes(series[np.newaxis]).values()),
            *baseline_notes(
                result.baselines, len(result.targets), forecaster.pipeline.season_length
            ),
        ]
        return Scored(
            model=forecaster.name,
            version=forecaster.version,
            evaluation=result,
            warnings=[note for note in notes if note],
        )

    def _forecast(
        self,
        forecaster: Forecaster,
        resolved: Resolved,
        fields: Sequence[str],
        horizon: int,
        levels: Levels | None,
        ids: list[str | None] | None = None,
    ) -> Forecasts:
        """Forecast the tail of every history in one vectorised pass; warn about odd inputs."""
        chosen, notes = self._interval_levels(forecaster, levels, horizon)
        series = resolved.histories
        members, total = forecaster.network.members, sum(len(values) for values in series)
        work = Work.forecast(len(series), total, horizon, members, len(chosen))
        check_work(work, self._settings.max_work)
        prediction = forecaster.predict(series, horizon, chosen, resolved.series)
        if prediction.overflow is not None:
            raise InvalidInput.at(fields[prediction.overflow] or "values", OVERFLOW)
        metrics.record_forecasts(forecaster.name, forecaster.version, len(series), horizon)
        outside = [f"{fields[i] or 'values'}: {note}" for i, note in prediction.notes.items()]
        periods = resolved.periods(forecaster.manifest.data.frequency, horizon)
        if self.ledger is not None and ids is not None and resolved.series is not None:
            assert periods is not None  # every row named by id has its calendar
            self.ledger.served(
                forecaster,
                resolved.series,
                ids,
                resolved.ends,
                periods,
                prediction.values,
                prediction.bands,
            )
        return Forecasts(
            model=forecaster.name,
            version=forecaster.version,
            horizon=horizon,
            values=prediction.values,
            warnings=[w for w in [*notes, *outside] if w],
            intervals=prediction.bands,
            series_ids=ids,
            periods=periods,
        )

    def _interval_levels(
        self, forecaster: Forecaster, levels: Levels | None, horizon: int
    ) -> tuple[list[float], list[str | None]]:
        """The levels to compute and any note about them; InvalidInput if they cannot be had.

        Levels asked for explicitly must be served or refused. The default
        levels are best effort: a version without calibration, or a horizon
        beyond it, answers without intervals and says why in `warnings`.
        """
        explicit = levels is not None
        if levels is not None:
            check_levels(len(levels), self._settings.max_levels)
        chosen = sorted(set(self._settings.default_levels if levels is None else levels))
        if not chosen:
            return [], []
        why = forecaster.intervals_refusal(horizon)
        if why is None:
            return chosen, []
        if not explicit:
            return [], [f"intervals: none, since {why}"]
        if limit := forecaster.interval_horizon:
            raise InvalidInput.at("horizon", f"{why}; ask for at most {limit}, or levels: []")
        raise InvalidInput.at("levels", f"{why}; retrain it, or send levels: []")

    def _level_count(self, levels: int | None) -> int:
        return len(self._settings.default_levels) if levels is None else levels

    def _history(
        self, forecaster: Forecaster, values: Values, field: str, extra: int = 0
    ) -> np.ndarray:
        """The values as an array, refused if too many or too few for this model."""
        self._check_length(forecaster, len(values), field, extra)
        return np.asarray(values, dtype=np.float64)

    def _check_length(self, forecaster: Forecaster, n: int, field: str, extra: int = 0) -> None:
        if n > self._settings.max_values:
            raise InvalidInput.at(field, f"at most {self._settings.max_values} values, got {n}")
        if why := forecaster.shortfall(n, extra):
            raise InvalidInput.at(field, why)

    def _check_batch(self, n: int, field: str) -> None:
        if n > self._settings.max_series:
            raise InvalidInput.at(field, f"at most {self._settings.max_series} series per batch")

    def _check_horizon(self, horizon: int) -> None:
        if horizon > self._settings.max_horizon:
            raise InvalidInput.at("horizon", f"at most {self._settings.max_horizon}, got {horizon}")


def _overflowed(
    answers: list[Forecasts | InvalidInput | None], field: str
) -> list[Forecasts | InvalidInput]:
    """Each row still without an answer is refused: its forecast overflowed. (Built only for
    those: a refusal costs a few microseconds, and most rows get a forecast.)"""
    return [InvalidInput.at(field, OVERFLOW) if a is None else a for a in answers]


def _finite_rows(prediction: Prediction) -> np.ndarray:
    """Whether each row's forecasts and bounds are all finite (what JSON can carry)."""
    bounds = [b for band in prediction.bands for b in (band.lower, band.upper)]
    return np.isfinite(np.concatenate([prediction.values, *bounds], axis=1)).all(axis=1)

"""The series a version knows, and the one rule that puts every series in the network's units.

A version trained on a long-format file serves one network for all its series. What
differs between series is kept per series, here: its id and calendar, the last
`history_width` values through the file's last period (what a forecast by id starts
from), its training range, its test scores, how much of the network it uses, and its
normalisation:

- `log`: whether it is modelled in logs (`log_rule` on its own training part);
- `spread`: the standard deviation of the pipeline's one-step changes over its training
  part, in its error space. The version's one scaler is fitted on every series' changes
  divided by their spread, so a series at level 100 and one at 800 look alike to the
  network, and interval half-widths, calibrated in spreads, are multiplied back by each
  series' own spread (ES-RNN and the M4 global models normalise per series the same way).

`network_weight` is each series' share of the network's correction (`training.shrinkage`),
chosen on its own validation forecasts: a series the network was not seen to help is
forecast by the pipeline alone; a series the version never saw uses the pipeline's
`network_weight`.

A series the version never saw (values posted without an id) is normalised by the same
rule applied to the posted values (`normalisation`). Versions trained on one series have a
table of one; versions written before tables existed have none and serve as they did.

On disk: `series.json` (the columns below) and `histories.npy` ((series, history_width)
float64, NaN left-padded), both hashed in the manifest, parsed only from verified bytes,
the array's header checked against the manifest before any of it is allocated.
"""

from __future__ import annotations

import dataclasses
import difflib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.contract.pipeline import AffineScaler, Pipeline, Predict, recursive_forecast
from app.contract.seasonal import SeasonalPipeline, log_rules

SERIES_FILE = "series.json"
HISTORIES_FILE = "histories.npy"
MAX_SERIES = 250_000
"""Most series one version holds: 100,000 load in seconds; the bound keeps a manifest from
claiming a table that would not fit in memory."""
MAX_ID_LENGTH = 200

SeriesId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
Optional = Annotated[float | None, Field(allow_inf_nan=False)]


class SeriesScores(BaseModel):
    """Test-part accuracy per series (a column per score, one entry per series; None: no test)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    points: list[int] = Field(description="Test points forecast one step ahead.")
    rmse: list[Optional]
    mae: list[Optional]
    mase: list[Optional] = Field(description="MAE over the training part's seasonal-naive MAE.")
    seasonal_naive_rmse: list[Optional]
    seasonal_naive_mase: list[Optional]
    pipeline_alone_rmse: list[Optional] | None = Field(
        default=None,
        description="The version's pipeline without its network (null: it has none, or the"
        " version predates the baseline).",
    )
    coverage: dict[str, list[Optional]] = Field(
        description='One-step interval coverage (0 to 1) by level, e.g. `"80"`.'
    )


class SeriesFile(BaseModel):
    """`series.json`: one column per field, one entry per series, in the histories' row order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: list[SeriesId]
    first_period: list[str]
    last_period: list[str]
    train_last_period: list[str] = Field(description="Last period the evaluation fit saw.")
    points: list[int]
    train_points: list[int]
    log: list[bool]
    spread: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]]
    train_min: list[Annotated[float, Field(allow_inf_nan=False)]]
    train_max: list[Annotated[float, Field(allow_inf_nan=False)]]
    network_weight: list[Annotated[float, Field(ge=0, le=1)]] | None = Field(
        default=None,
        description="Each series' share of the network's correction, chosen on its own"
        " validation forecasts (null: every series uses the pipeline's `network_weight`).",
    )
    test: SeriesScores

    @model_validator(mode="after")
    def _check(self) -> SeriesFile:
        n = len(self.ids)
        if not 1 <= n <= MAX_SERIES:
            raise ValueError(f"{n:,} series; a version holds 1 to {MAX_SERIES:,}")
        columns = {k: v for k, v in self if isinstance(v, list)}
        columns |= {f"test.{k}": v for k, v in self.test if isinstance(v, list)}
        columns |= {f"test.coverage.{k}": v for k, v in self.test.coverage.items()}
        if uneven := [name for name, column in columns.items() if len(column) != n]:
            raise ValueError(f"columns {', '.join(uneven)} do not have one entry per id ({n})")
        if len(set(self.ids)) != n:
            raise ValueError("series ids are not unique")
        return self


@dataclass(frozen=True, eq=False)
class SeriesTable:
    """A version's series, ready to forecast by id: the columns, and the histories matrix."""

    columns: SeriesFile
    histories: np.ndarray  # (series, history_width), NaN left-padded, read-only

    @cached_property
    def index(self) -> dict[str, int]:
        return {sid: i for i, sid in enumerate(self.columns.ids)}

    @cached_property
    def log(self) -> np.ndarray:
        return np.array(self.columns.log, dtype=bool)

    @cached_property
    def spread(self) -> np.ndarray:
        return np.array(self.columns.spread, dtype=np.float64)

    @cached_property
    def weight(self) -> np.ndarray | None:
        found = self.columns.network_weight
        return None if found is None else np.array(found, dtype=np.float64)

    @cached_property
    def mase_scale(self) -> np.ndarray:
        """Each series' MASE denominator (its training part's seasonal-naive MAE); NaN where
        it has none. Derived from its test MAE and MASE, the one place training computed it."""
        test = self.columns.test
        mae = np.array([np.nan if v is None else v for v in test.mae], dtype=np.float64)
        mase = np.array([np.nan if v is None else v for v in test.mase], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = mae / mase
        scale[~(np.isfinite(scale) & (scale > 0))] = np.nan
        return scale

    @property
    def ids(self) -> list[str]:
        return self.columns.ids

    def __len__(self) -> int:
        return len(self.columns.ids)

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """Row numbers of `ids`; KeyError naming the first id the version does not know."""
        index = self.index
        try:
            return np.fromiter((index[sid] for sid in ids), dtype=np.int64, count=len(ids))
        except KeyError as exc:
            raise KeyError(exc.args[0]) from None

    def nearest(self, series_id: str, count: int = 3) -> list[str]:
        """The known ids closest to `series_id`: the likely meaning of a typo in a long code."""
        return difflib.get_close_matches(series_id, self.columns.ids, n=count, cutoff=0.5)


def normalisation(pipeline: Pipeline, train_values: np.ndarray) -> tuple[bool, float]:
    """(log, spread) of a series from its training part: the rule training and serving share.

    The differencing pipeline (the post's model, one series) is scaled by its fitted
    scaler alone: no logs, spread 1. For the seasonal pipeline, the spread is the
    standard deviation of its one-step changes; when there are fewer than two, or they do
    not vary (a flat series), the mean absolute step of the values, else 1.
    """
    log, spread = normalisations(pipeline, np.asarray(train_values, dtype=np.float64)[None])
    return bool(log[0]), float(spread[0])


def normalisations(pipeline: Pipeline, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`normalisation` of every row of a (batch, n) NaN-left-padded matrix, in array passes.

    Rows with the same number of values are one group: each group's log rule, and the
    changes of all its rows' histories, are computed at once (values posted for 1,000
    series the version never saw cost one pass, not 1,000).
    """
    rows = np.asarray(rows, dtype=np.float64)
    log, spread = np.zeros(len(rows), dtype=bool), np.ones(len(rows))
    if not isinstance(pipeline, SeasonalPipeline):
        return log, spread
    counts = (~np.isnan(rows)).sum(axis=1)
    for n in np.unique(counts).tolist():
        members = np.flatnonzero(counts == n)
        y = rows[members][:, rows.shape[1] - n :]
        logged = log_rules(y, pipeline.season_length)
        log[members] = logged
        for flag in np.unique(logged).tolist():
            group = logged == flag
            spread[members[group]] = _spreads(dataclasses.replace(pipeline, log=flag), y[group])
    return log, spread


def _spreads(pipeline: SeasonalPipeline, y: np.ndarray) -> np.ndarray:
    """Per row of (batch, n): the std of its one-step changes, or its mean absolute step."""
    n = y.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.log(y) if pipeline.log else y
        steps = np.abs(np.diff(z, axis=1)).mean(axis=1) if n > 1 else np.full(len(y), np.nan)
        # The changes after every history of at least `history_length` values (`changes`).
        changes = np.diff(pipeline.adjusted(y), axis=1)[:, pipeline.history_length - 1 :]
        spread = changes.std(axis=1) if changes.shape[1] >= 2 else np.full(len(y), np.nan)
    chosen = np.where(np.isfinite(spread) & (spread > 0), spread, steps)
    return np.where(np.isfinite(chosen) & (chosen > 0), chosen, 1.0)


def histories_bytes(histories: np.ndarray) -> bytes:
    """The `.npy` bytes of a histories matrix, as `read_histories` accepts them."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(histories, dtype="<f8"), allow_pickle=False)
    return buffer.getvalue()


def read_histories(data: bytes, series: int, width: int) -> np.ndarray:
    """Verified `.npy` bytes as a (series, width) float64 matrix; ValueError for anything else.

    The header is read and checked first (dtype, order, shape, exact size), so a file
    cannot make the reader allocate more than the manifest's table needs, and pickles
    are refused outright (`allow_pickle=False`).
    """
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version != (1, 0):
        raise ValueError(f"npy format version {version}; expected (1, 0)")
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    if (shape, fortran, dtype) != ((series, width), False, np.dtype("<f8")):
        raise ValueError(
            f"holds {dtype} {shape}{' (Fortran order)' * fortran}; expected"
            f" float64 ({series}, {width}) in C order"
        )
    if len(data) - stream.tell() != series * width * 8:
        raise ValueError("its size does not match its header")
    histories = np.frombuffer(data, dtype="<f8", offset=stream.tell()).reshape(series, width)
    histories.flags.writeable = False
    return histories


def loggable(
    pipeline: Pipeline, rows: np.ndarray, log: np.ndarray, spread: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The states rows can be forecast with: a series in logs whose history holds a value of
    zero or less cannot be, so that row takes the state of its own values (no logs).

    A catalog's series may be positive through training and reach zero later; its
    forecast then comes from the rule any unseen series gets, instead of a NaN. Training
    scores, and serving answers, through this one rule.
    """
    if not np.count_nonzero(log):
        return log, spread
    stuck = log & (rows <= 0).any(axis=1)  # NaN padding compares False
    if not stuck.any():
        return log, spread
    log, spread = log.copy(), spread.copy()
    log[stuck], spread[stuck] = normalisations(pipeline, rows[stuck])
    return log, spread


def forecast_by_row(
    histories: np.ndarray,
    horizon: int,
    pipeline: Pipeline,
    scaler: AffineScaler,
    predict: Predict,
    log: np.ndarray,
    spread: np.ndarray,
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """`recursive_forecast` with each row normalised as its own series: (batch, horizon).

    Rows are grouped by `log` (one pipeline per group; at most two passes), and each
    row's changes are divided by its `spread` through the scaler (`per_series`). With
    `weight`, each row uses its series' share of the network's correction instead of the
    pipeline's one `network_weight`. Training scores, calibrates and checks parity with
    this function; serving forecasts with it.
    """
    logged = np.count_nonzero(log)
    if logged in (0, len(log)):  # one group, as a batch of one series always is
        return _forecast_group(
            histories, horizon, pipeline, scaler, predict, bool(logged), spread, weight
        )
    out = np.empty((len(histories), horizon))
    for flag in (False, True):
        rows = np.flatnonzero(log == flag)
        out[rows] = _forecast_group(
            histories[rows], horizon, pipeline, scaler, predict, flag, spread[rows],
            None if weight is None else weight[rows],
        )  # fmt: skip
    return out


def _forecast_group(
    histories: np.ndarray,
    horizon: int,
    pipeline: Pipeline,
    scaler: AffineScaler,
    predict: Predict,
    log: bool,
    spread: np.ndarray,
    weight: np.ndarray | None,
) -> np.ndarray:
    """`forecast_by_row` for rows that are all in logs or all not."""
    if isinstance(pipeline, SeasonalPipeline):
        pipeline, predict = _weighted(pipeline, log, predict, weight)
    return recursive_forecast(histories, horizon, pipeline, scaler.per_series(spread), predict)


def _weighted(
    pipeline: SeasonalPipeline, log: bool, predict: Predict, weight: np.ndarray | None
) -> tuple[SeasonalPipeline, Predict]:
    """The pipeline (in logs or not) and network that give each row `weight` of the network's
    correction: scaling the outputs row by row is the same as `network_weight`, one per row.
    None: every row uses the pipeline's own `network_weight`."""
    if weight is None:
        return pipeline_variant(pipeline, log, pipeline.network_weight), predict
    if not weight.any():
        return pipeline_variant(pipeline, log, 0.0), predict  # the network is never run
    if (weight == 1).all():
        return pipeline_variant(pipeline, log, 1.0), predict
    return pipeline_variant(pipeline, log, 1.0), _Weighted(predict, weight)


class _Weighted:
    """The network's outputs times one weight per row. Its `recurse` (`Recursion`) is the
    network's with these weights multiplying the pipeline's, or None when the network has
    none, so the pipeline takes its own loop."""

    def __init__(self, predict: Predict, weight: np.ndarray) -> None:
        self.predict, self.weight = predict, weight
        self._recursion: Callable[..., None] | None = getattr(predict, "recurse", None)
        self.recurse = None if self._recursion is None else self._recurse

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return self.weight * self.predict(inputs)

    def _recurse(
        self, u: np.ndarray, first: int, look_back: int, scale: float | np.ndarray,
        offset: float, weight: float | np.ndarray, level: np.ndarray | None = None,
        level_weight: float = 0.0,
    ) -> None:  # fmt: skip
        assert self._recursion is not None
        self._recursion(
            u, first, look_back, scale, offset, self.weight * weight, level, level_weight
        )


@lru_cache(maxsize=64)
def pipeline_variant(
    pipeline: SeasonalPipeline, log: bool, network_weight: float
) -> SeasonalPipeline:
    """The pipeline with these two fields set: cached, since every forecast asks for one and
    building a dataclass costs more than a one-step forecast's pipeline arithmetic."""
    return dataclasses.replace(pipeline, log=log, network_weight=network_weight)


def inputs_by_row(
    histories: np.ndarray, pipeline: Pipeline, scaler: AffineScaler, log: np.ndarray
) -> np.ndarray:
    """The network inputs of `forecast_by_row`'s first step: (batch, look_back, 1).

    `scaler` already holds one scale per row (`AffineScaler.per_series`).
    """
    out = np.empty((len(histories), pipeline.look_back, 1))
    for flag in np.unique(log).tolist():
        rows = np.flatnonzero(log == flag)
        spec = (
            dataclasses.replace(pipeline, log=flag)
            if isinstance(pipeline, SeasonalPipeline)
            else pipeline
        )
        scale = scaler.scale[rows] if isinstance(scaler.scale, np.ndarray) else scaler.scale
        out[rows] = spec.model_inputs(histories[rows], AffineScaler(scale, scaler.offset))
    return out

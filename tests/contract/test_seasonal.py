"""The default pipeline: causal, exact to invert, blind to history older than its width."""

from __future__ import annotations

import dataclasses

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from app.contract import seasonal
from app.contract.pipeline import MAX_HISTORY_WIDTH, AffineScaler, as_rows, stepwise_forecast
from app.contract.seasonal import SeasonalPipeline, log_rule, window_length

pipelines = st.builds(
    SeasonalPipeline,
    look_back=st.integers(1, 8),
    season_length=st.sampled_from([1, 2, 4, 7, 12]),
    seasons=st.integers(1, 6),
    decay=st.floats(0.1, 1.0),
    log=st.booleans(),
    long_seasons=st.integers(6, 9),
    long_decay=st.floats(0.1, 1.0),
    long_weight=st.sampled_from([0.0, 0.3, 1.0]),
    level_points=st.integers(1, 12),
    level_decay=st.floats(0.1, 1.0),
    level_weight=st.sampled_from([0.0, 0.4, 1.0]),
    flat_seasons=st.integers(6, 12),
    flat_weight=st.sampled_from([0.0, 0.5, 1.0]),
)
SCALER = AffineScaler(0.37, -0.2)


def series_for(pipeline: SeasonalPipeline, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = 20 * np.sin(2 * np.pi * t / max(pipeline.season_length, 2))
    return 500 + 0.5 * t + season + rng.normal(0, 5, n)  # positive, so logs are defined


@settings(max_examples=120, deadline=None)
@given(pipeline=pipelines, seed=st.integers(0, 10_000), extra=st.integers(1, 60))
def test_the_scaled_change_inverts_to_every_next_value(
    pipeline: SeasonalPipeline, seed: int, extra: int
) -> None:
    series = series_for(pipeline, pipeline.history_length + extra, seed)
    histories, targets, change = pipeline.changes(series)
    back = pipeline.to_series_units(SCALER.transform(change), histories, SCALER)
    np.testing.assert_allclose(back, series[targets], rtol=1e-9)
    assert np.isfinite(pipeline.model_inputs(histories, SCALER)).all()


@settings(max_examples=80, deadline=None)
@given(pipeline=pipelines, seed=st.integers(0, 10_000))
def test_values_older_than_the_width_change_nothing(pipeline: SeasonalPipeline, seed: int) -> None:
    series = series_for(pipeline, pipeline.history_width + 30, seed)
    recent = as_rows([series], pipeline.history_width)
    disturbed = series.copy()
    disturbed[: len(series) - pipeline.history_width] *= 3
    rows = as_rows([disturbed], pipeline.history_width)
    np.testing.assert_array_equal(recent, rows)
    padded = as_rows([series[-pipeline.history_width :]], pipeline.history_width + 5)
    np.testing.assert_allclose(  # extra NaN padding on the left is no history at all
        pipeline.model_inputs(padded[:, 5:], SCALER), pipeline.model_inputs(recent, SCALER)
    )


def test_a_short_history_uses_the_seasons_it_has() -> None:
    pipeline = SeasonalPipeline(look_back=6, season_length=12)
    series = series_for(pipeline, 200, seed=1)
    shortest = as_rows([series[: pipeline.history_length]], pipeline.history_width)
    assert np.isfinite(pipeline.model_inputs(shortest, SCALER)).all()
    too_short = as_rows([series[: pipeline.history_length - 1]], pipeline.history_width)
    assert not np.isfinite(pipeline.model_inputs(too_short, SCALER)).all()


def test_a_seasonal_pattern_is_removed_before_the_network_sees_it() -> None:
    pipeline = SeasonalPipeline(look_back=6, season_length=12)
    t = np.arange(240)
    pure = 100 + 30 * np.sin(2 * np.pi * t / 12)  # season only, no trend, no noise
    u, seasonal = pipeline.deseasonalised(as_rows([pure], pipeline.history_width))
    np.testing.assert_allclose(u, 100, atol=1e-9)  # what remains is the level
    assert seasonal[0] == pytest.approx(30 * np.sin(2 * np.pi * 240 / 12), abs=1e-9)


@pytest.mark.parametrize(
    ("make", "season", "expected"),
    [
        (lambda t: (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)), 12, True),  # grows
        (lambda t: 100 + t + 20 * np.sin(2 * np.pi * t / 12), 12, False),  # additive
        (lambda t: np.sin(t) * 10, 12, False),  # not positive
        (lambda t: 50 + 0 * t, 1, False),  # flat
    ],
)
def test_the_log_rule(make: object, season: int, expected: bool) -> None:
    values = make(np.arange(120.0))  # type: ignore[operator]
    assert log_rule(values, season) is expected


@pytest.mark.parametrize(
    ("season", "look_back"), [(12, 6), (4, 4), (2, 4), (52, 26), (7, 4), (24, 12), (1, 5)]
)
def test_the_window_is_half_a_season_and_at_least_four_steps(season: int, look_back: int) -> None:
    assert window_length(season) == look_back


@settings(max_examples=60, deadline=None)
@given(pipeline=pipelines, seed=st.integers(0, 10_000), weight=st.floats(0.0, 1.0, allow_nan=False))
def test_the_network_weight_moves_the_forecast_along_the_network_correction(
    pipeline: SeasonalPipeline, seed: int, weight: float
) -> None:
    """z(w) = z0 + w d: the pipeline alone at w = 0, the whole network at w = 1, linear between."""
    series = series_for(pipeline, pipeline.history_width + 5, seed)
    rows = as_rows([series[:-k] for k in range(1, 4)], pipeline.history_width)
    outputs = np.random.default_rng(seed).normal(0, 1, len(rows))

    def forecast(w: float) -> np.ndarray:
        found = dataclasses.replace(pipeline, network_weight=w)
        return found.next_values(rows, SCALER, lambda _: outputs)

    space = np.log if pipeline.log else np.asarray
    alone, whole = space(forecast(0.0)), space(forecast(1.0))
    np.testing.assert_allclose(space(forecast(weight)), alone + weight * (whole - alone), atol=1e-9)
    np.testing.assert_array_equal(
        pipeline.without_network().next_values(rows, SCALER, lambda _: outputs), forecast(0.0)
    )


def test_the_pipeline_alone_is_the_seasonal_index_plus_the_last_level_and_the_mean_change() -> None:
    """A scaled output of 0 is the scaler's mean change; the network is never called."""
    pipeline = SeasonalPipeline(look_back=6, season_length=12).without_network()
    series = series_for(pipeline, pipeline.history_width, seed=4)
    rows = series[np.newaxis]
    mean_change, scale = 0.8, 0.37
    scaler = AffineScaler(scale, -mean_change * scale)  # a StandardScaler's arithmetic

    def refuse(inputs: np.ndarray) -> np.ndarray:
        raise AssertionError("the pipeline alone must not run the network")

    u, seasonal = pipeline.deseasonalised(rows)
    expected = seasonal + u[:, -1] + mean_change
    np.testing.assert_allclose(pipeline.next_values(rows, scaler, refuse), expected)


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan")])
def test_a_network_weight_outside_0_1_is_refused(weight: float) -> None:
    with pytest.raises(ValueError, match="network_weight"):
        SeasonalPipeline(look_back=6, season_length=12, network_weight=weight)


@settings(max_examples=150, deadline=None)
@given(
    pipeline=pipelines,
    seed=st.integers(0, 10_000),
    short=st.integers(0, 40),
    horizon=st.integers(1, 30),
    weight=st.sampled_from([0.0, 0.4, 1.0]),
)
def test_the_fast_recursion_is_the_stepwise_one(
    pipeline: SeasonalPipeline, seed: int, short: int, horizon: int, weight: float
) -> None:
    """`forecast` carries u forward and computes S by `SeasonalMap`; `stepwise_forecast`,
    the definition, re-deseasonalises the whole row after every step by `_seasonal_index`.
    Rows of every padding, horizons past several seasons, with and without the network."""
    pipeline = dataclasses.replace(pipeline, network_weight=weight)
    series = series_for(pipeline, pipeline.history_width + 10, seed)
    lengths = [max(pipeline.history_length, pipeline.history_width + 10 - k) for k in (0, short)]
    rows = as_rows([series[:n] for n in lengths], pipeline.history_width)
    w = np.random.default_rng(seed).normal(0, 0.3, pipeline.look_back)

    def network(inputs: np.ndarray) -> np.ndarray:  # any function of the window will do
        return np.tanh(inputs[:, :, 0] @ w)

    fast = pipeline.forecast(rows, horizon, SCALER, network)
    stepwise = stepwise_forecast(rows, horizon, pipeline, SCALER, network)
    np.testing.assert_allclose(fast, stepwise, rtol=1e-9)


@settings(max_examples=100, deadline=None)
@given(pipeline=pipelines, seed=st.integers(0, 10_000))
def test_the_seasonal_map_is_the_seasonal_index(pipeline: SeasonalPipeline, seed: int) -> None:
    """Every padding a row can have, against the array-pass definition, `_seasonal_index`:
    rows of mixed paddings together, each row alone, and rows of one padding together
    (the map's fold for that padding)."""
    width = pipeline.history_width
    series = np.log(series_for(pipeline, width, seed))
    rows = as_rows([series[k:] for k in range(width)], width)  # padding 0 .. width - 1
    s = pipeline.season_length
    if s == 1:
        return
    L = pipeline.span  # the window's points, and the level's when it is used
    index = pipeline._seasonal_index(rows, np.arange(width - L, width + s)).T
    other = np.log(series_for(pipeline, width, seed + 1))
    twins = as_rows([other[k:] for k in range(width)], width)  # the same paddings
    twin_index = pipeline._seasonal_index(twins, np.arange(width - L, width + s)).T
    alone = [pipeline._window_and_ahead(rows[i : i + 1]) for i in range(width)]
    before = seasonal._mixed_fold.cache_info()
    pairs = [pipeline._window_and_ahead(np.stack([rows[i], twins[i]])) for i in range(width)]
    after = seasonal._mixed_fold.cache_info()
    assert after.hits + after.misses - before.hits - before.misses >= width - 1  # padded pairs
    for (u, ahead), values, expected in [
        (pipeline._window_and_ahead(rows), rows, index),
        (_row_by_row(alone, 0), rows, index),
        (_row_by_row(pairs, 0), rows, index),
        (_row_by_row(pairs, 1), twins, twin_index),
    ]:
        np.testing.assert_allclose(ahead, expected[:, L:], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(u, values[:, -L:] - expected[:, :L], rtol=1e-9, atol=1e-9)


def _row_by_row(found: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, ...]:
    """Row k of each batch's (u, S ahead), stacked."""
    return tuple(np.stack([parts[j][k] for parts in found]) for j in range(2))


@pytest.mark.parametrize(
    "memories", [{}, {"long_weight": 0.7, "flat_weight": 0.4, "flat_seasons": 9}]
)
def test_without_a_map_the_forecast_is_the_same(
    monkeypatch: pytest.MonkeyPatch, memories: dict[str, float]
) -> None:
    """Rows too wide for a `SeasonalMap` take `_seasonal_index`: the numbers do not change."""
    pipeline = SeasonalPipeline(look_back=6, season_length=12, log=True, **memories)
    series = series_for(pipeline, 120, seed=3)
    rows = as_rows([series, series[:40]], pipeline.history_width)
    network = lambda inputs: np.tanh(inputs[:, :, 0].sum(axis=1))  # noqa: E731
    mapped = pipeline.forecast(rows, 30, SCALER, network)
    monkeypatch.setattr(seasonal, "MAP_ENTRIES", 0)
    np.testing.assert_allclose(pipeline.forecast(rows, 30, SCALER, network), mapped, rtol=1e-9)


@given(
    pipeline=pipelines,
    seed=st.integers(0, 10_000),
    share=st.floats(0.0, 1.0),
    flat=st.floats(0.0, 1.0),
)
def test_the_seasonal_index_mixes_the_memories(
    pipeline: SeasonalPipeline, seed: int, share: float, flat: float
) -> None:
    """S(m, f) = (1 - m) S_short + m ((1 - f) S_long + f S_flat), each memory renormalised
    over the seasons it has."""

    def at(m: float, f: float) -> SeasonalPipeline:
        return dataclasses.replace(pipeline, long_weight=m, flat_weight=f)

    width = at(1.0, 1.0).history_width
    series = series_for(pipeline, width + 30, seed)
    rows = as_rows([series[k:] for k in range(0, width + 30, 7)], width)
    short, long, flat_ = (at(m, f).deseasonalised(rows) for m, f in ((0, 0), (1, 0), (1, 1)))
    mixed = at(share, flat).deseasonalised(rows)
    for found, one, other, third in zip(mixed, short, long, flat_, strict=True):
        expected = (1 - share) * one + share * ((1 - flat) * other + flat * third)
        np.testing.assert_allclose(found, expected, atol=1e-9)


def test_the_long_memory_reads_older_values_only_when_it_is_used() -> None:
    short = SeasonalPipeline(look_back=6, season_length=12)
    assert short.history_width == 6 + 7 * 12 - 1
    assert dataclasses.replace(short, long_weight=0.2).history_width == 6 + 21 * 12 - 1
    series = series_for(short, 400, seed=9)
    rows = as_rows([series], 400)
    changed = rows.copy()
    changed[0, : 400 - short.history_width] += 50.0  # older than the short memory reads
    for m, moves in ((0.0, False), (0.2, True)):
        pipeline = dataclasses.replace(short, long_weight=m)
        before, after = pipeline.deseasonalised(rows)[1], pipeline.deseasonalised(changed)[1]
        assert (not np.allclose(before, after)) is moves


def test_a_long_memory_shorter_than_the_short_one_is_refused() -> None:
    with pytest.raises(ValueError, match="long_seasons must be at least seasons"):
        SeasonalPipeline(look_back=6, season_length=12, seasons=6, long_seasons=4)


def test_a_row_with_a_gap_inside_has_no_seasonal_index() -> None:
    pipeline = SeasonalPipeline(look_back=6, season_length=12)
    rows = as_rows([series_for(pipeline, 60, seed=5)], pipeline.history_width)
    rows[0, -20] = np.nan
    assert np.isnan(pipeline.deseasonalised(rows)[1]).all()


def test_the_level_is_an_exponentially_weighted_mean_of_the_last_points() -> None:
    """g = 1 without a season: the pipeline alone forecasts the level (weights lam^k over
    the last P values, the newest 1) plus the mean change; a short history uses what it has."""
    pipeline = SeasonalPipeline(look_back=3, season_length=1, level_points=4, level_decay=0.5)
    alone = dataclasses.replace(pipeline, level_weight=1.0, network_weight=0.0)
    values = np.array([10.0, 20.0, 40.0, 30.0, 50.0])
    rows = as_rows([values, values[-3:]], alone.history_width)
    drift = AffineScaler(1.0, -2.0)  # an output of 0 is a change of 2
    found = alone.forecast(rows, 1, drift, lambda x: np.zeros(len(x)))[:, 0]
    full = (50 + 0.5 * 30 + 0.25 * 40 + 0.125 * 20) / 1.875
    short = (50 + 0.5 * 30 + 0.25 * 40) / 1.75
    np.testing.assert_allclose(found, [full + 2, short + 2], rtol=1e-12)
    half = dataclasses.replace(alone, level_weight=0.5)
    np.testing.assert_allclose(
        half.forecast(rows, 1, drift, lambda x: np.zeros(len(x)))[:, 0],
        [(50 + full) / 2 + 2, (50 + short) / 2 + 2],
        rtol=1e-12,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"season_length": 1000, "look_back": 500},
        {"level_points": 10**8},
        {"long_seasons": 10**6},
        {"flat_seasons": 10**6},
    ],
)
def test_a_pipeline_that_could_read_too_much_is_refused(changes: dict[str, int]) -> None:
    """Whatever its shares: a manifest cannot make a request's rows, or a catalog's, huge."""
    with pytest.raises(ValueError, match=f"at most {MAX_HISTORY_WIDTH:,} are allowed"):
        SeasonalPipeline(**{"look_back": 6, "season_length": 12, **changes})
    assert SeasonalPipeline(182, 365).history_width <= MAX_HISTORY_WIDTH  # daily, yearly season

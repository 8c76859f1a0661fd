"""The train/serve contract: transforms invert exactly, scalers reduce to the right affine map,
and the windows training fits on are the inputs serving builds for the same history."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from app.contract.differencing import DifferencingPipeline, Transform, difference, integrate
from app.contract.pipeline import AffineScaler, as_rows, one_step_histories
from app.contract.scalers import affine_from_sklearn
from training.fit import fit_scaler, plan_split
from training.presets import DEFAULT, SEED, Preset

values = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
specs = st.builds(
    DifferencingPipeline,
    look_back=st.integers(1, 24),
    transform=st.sampled_from(Transform),
    season_length=st.integers(2, 12),
)


def synthetic(n: int = 96, seed: int = 3) -> np.ndarray:
    """Trend + yearly season + noise, like the monthly series the product is for."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 600 + 2.0 * t + 60 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 8, n)


@settings(max_examples=200, deadline=None)
@given(spec=specs, data=st.data())
def test_difference_then_integrate_gives_back_every_next_value(
    spec: DifferencingPipeline, data: st.DataObject
) -> None:
    series = data.draw(
        arrays(np.float64, st.integers(spec.history_length + 1, 80), elements=values)
    )
    histories, targets = one_step_histories(series, spec)
    steps = difference(np.column_stack([histories, series[targets]]), spec)[:, -1]
    np.testing.assert_allclose(integrate(steps, histories, spec), series[targets], atol=1e-6)
    assert len(difference(series, spec)) == len(series) - spec.context


@given(
    x=arrays(np.float64, st.integers(1, 50), elements=values),
    scale=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3),
    offset=st.floats(-1e3, 1e3),
)
def test_affine_scaler_inverse_undoes_transform(x: np.ndarray, scale: float, offset: float) -> None:
    affine = AffineScaler(scale, offset)
    np.testing.assert_allclose(affine.inverse(affine.transform(x)), x, rtol=1e-9, atol=1e-6)


@settings(deadline=None)
@given(
    fit_on=arrays(np.float64, st.integers(2, 50), elements=values),
    probe=arrays(np.float64, st.integers(1, 20), elements=values),
    kind=st.sampled_from(["minmax", "minmax-custom", "standard"]),
)
def test_affine_from_sklearn_matches_sklearn(
    fit_on: np.ndarray, probe: np.ndarray, kind: str
) -> None:
    scaler = {
        "minmax": MinMaxScaler(),
        "minmax-custom": MinMaxScaler((-1, 1)),
        "standard": StandardScaler(),
    }[kind].fit(fit_on.reshape(-1, 1))
    affine = affine_from_sklearn(scaler, "test")
    expected = scaler.transform(probe.reshape(-1, 1))[:, 0]
    np.testing.assert_allclose(affine.transform(probe), expected, rtol=1e-9, atol=1e-9)
    back = scaler.inverse_transform(expected.reshape(-1, 1))[:, 0]
    np.testing.assert_allclose(affine.inverse(expected), back, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("preset", [DEFAULT, SEED], ids=lambda p: p.name)
def test_training_windows_equal_the_inputs_serving_builds(preset: Preset) -> None:
    """The contract: for the same history, the window training fitted on is the input the
    service builds (`as_rows`, as the data plane does), and its target inverts to the truth.
    To rounding: a matrix product may sum in another order for a batch than for one row."""
    series = synthetic()
    split = plan_split(len(series), preset)
    train_part = series[: split.train_size]
    pipeline = preset.pipeline_for(train_part)
    _, affine = fit_scaler(train_part, pipeline, preset)
    inputs, scaled_targets, targets = pipeline.training_windows(train_part, affine)
    assert len(inputs) == split.windows == len(targets)
    for i, target in enumerate(targets):
        history = as_rows([series[:target]], pipeline.history_width)  # what serving would build
        served = pipeline.model_inputs(history, affine)[0]
        np.testing.assert_allclose(inputs[i], served, rtol=1e-12, atol=1e-12)
        recovered = pipeline.to_series_units(scaled_targets[i : i + 1], history, affine)
        np.testing.assert_allclose(recovered, series[target], rtol=1e-12)


@pytest.mark.parametrize("preset", [DEFAULT, SEED], ids=lambda p: p.name)
def test_scaler_is_fitted_on_the_training_part_only(preset: Preset) -> None:
    series = synthetic()
    train_part = series[: plan_split(len(series), preset).train_size]
    pipeline = preset.pipeline_for(train_part)
    scaler, _ = fit_scaler(train_part, pipeline, preset)
    seen = pipeline.scaler_values(train_part)
    assert scaler.n_samples_seen_ == len(seen) and len(seen) <= len(train_part)
    changed = series.copy()
    changed[len(train_part) :] *= 100  # the test part cannot move it
    assert fit_scaler(changed[: len(train_part)], pipeline, preset)[0].scale_ == scaler.scale_


def test_seed_preset_splits_the_milk_series_like_the_post() -> None:
    split = plan_split(168, SEED)
    assert (split.train_size, split.windows) == (int(168 * 0.67), int(168 * 0.67) - 1)
    assert (SEED.look_back, SEED.units, SEED.epochs, SEED.batch_size) == (1, (4,), 100, 1)


def test_as_rows_keeps_each_tail_and_pads_short_histories_with_nan() -> None:
    long, short = [1.0, 2.0, 3.0, 4.0, 5.0], [7.0, 8.0]
    np.testing.assert_array_equal(as_rows([long, long[1:]], 3), [[3, 4, 5], [3, 4, 5]])
    np.testing.assert_array_equal(as_rows([np.array(long), short], 3), [[3, 4, 5], [np.nan, 7, 8]])
    assert as_rows(np.array([long, long]), 5).shape == (2, 5)


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=6),
    width=st.integers(1, 15),
    data=st.data(),
)
def test_as_rows_is_the_same_whether_the_lengths_are_equal_or_not(
    lengths: list[int], width: int, data: st.DataObject
) -> None:
    """Equal lengths take one conversion, unequal ones a loop: both give every row's tail."""
    histories = [data.draw(st.lists(values, min_size=n, max_size=n)) for n in lengths]
    expected = np.full((len(histories), width), np.nan)
    for row, history in zip(expected, histories, strict=True):
        tail = history[-width:]
        row[width - len(tail) :] = tail
    same = [histories[0]] * len(histories)  # equal lengths
    np.testing.assert_array_equal(as_rows(histories, width), expected)
    np.testing.assert_array_equal(as_rows(same, width), np.stack([expected[0]] * len(same)))
    source = np.array(same, dtype=np.float64)
    as_rows(source, width)[:] = 0.0  # a copy: the caller's array is never written through
    np.testing.assert_array_equal(source, np.array(same, dtype=np.float64))

"""The train/serve contract: transforms invert exactly, scalers reduce to the right affine map,
and the windows training fits on are the inputs serving builds for the same history."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from app.contract.pipeline import (
    AffineScaler,
    PipelineSpec,
    Transform,
    difference,
    integrate,
    model_inputs,
    one_step_histories,
    to_series_units,
    training_windows,
)
from app.contract.scalers import affine_from_sklearn
from training.fit import fit_scaler, plan_split
from training.presets import DEFAULT, SEED, Preset

values = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
specs = st.builds(
    PipelineSpec,
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
    spec: PipelineSpec, data: st.DataObject
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
    series = synthetic()
    split = plan_split(len(series), preset)
    train_part = series[: split.train_size]
    _, affine = fit_scaler(train_part, preset)
    inputs, scaled_targets, targets = training_windows(train_part, preset.spec, affine)
    assert len(inputs) == split.fit_windows + split.validation_windows
    for i, target in enumerate(targets):
        history = series[:target][np.newaxis, :]  # all the service would be sent, oldest first
        np.testing.assert_array_equal(inputs[i], model_inputs(history, preset.spec, affine)[0])
        recovered = to_series_units(scaled_targets[i : i + 1], history, preset.spec, affine)
        np.testing.assert_allclose(recovered, series[target], rtol=1e-12)


def test_scaler_is_fitted_on_the_transformed_training_part_only() -> None:
    series = synthetic()
    split = plan_split(len(series), DEFAULT)
    scaler, _ = fit_scaler(series[: split.train_size], DEFAULT)
    seen = difference(series[: split.train_size], DEFAULT.spec)
    assert scaler.n_samples_seen_ == len(seen)
    assert scaler.mean_[0] == pytest.approx(seen.mean())


def test_seed_preset_splits_the_milk_series_like_the_post() -> None:
    split = plan_split(168, SEED)
    assert (split.train_size, split.validation_windows) == (int(168 * 0.67), 0)
    assert (SEED.look_back, SEED.units, SEED.epochs, SEED.batch_size) == (1, (4,), 100, 1)

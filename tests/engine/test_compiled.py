"""The compiled LSTM kernel against the NumPy engine, its reference, and its loader's refusals.

`make test` builds the kernel (the install step `setup.py` declares), so here it must be
built and serving: a test environment where it silently fell back to NumPy would leave
the engine every deployment uses untested. Parity with Keras, for both engines, is
`test_engine.py`'s.
"""

from __future__ import annotations

import ctypes
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from app.contract.pipeline import AffineScaler, as_rows
from app.contract.seasonal import SeasonalPipeline
from app.contract.series import forecast_by_row
from app.engine import compiled, layers
from app.engine.layers import LSTM, PRECISION, Dense
from app.engine.network import Network

ATOL = 1e-5  # outputs are in [-1, 1]; the two engines differ by float32 rounding


def random_lstm(
    units: int, inputs: int, members: int = 2, sequences: bool = False, seed: int = 0
) -> LSTM:
    rng = np.random.default_rng(seed)
    weights = tuple(
        layers._frozen(rng.normal(0.0, 0.6, shape))
        for shape in (
            (members, inputs, 4 * units),
            (members, units, 4 * units),
            (members, 1, 4 * units),
        )
    )
    return LSTM("random", ("tanh", "sigmoid"), sequences, weights)  # type: ignore[arg-type]


def inputs(steps: int, given: int, batch: int, features: int, seed: int = 1) -> np.ndarray:
    return (
        np.random.default_rng(seed)
        .normal(0.0, 1.5, (steps, given, batch, features))
        .astype(PRECISION)
    )


def test_the_kernel_is_built_and_serves() -> None:
    assert layers.ENGINE == "compiled", layers.ENGINE
    assert layers.KERNEL is not None
    assert random_lstm(32, 1).kernel_weights is not None


@pytest.mark.parametrize(
    ("units", "features", "members", "batch", "steps"),
    [
        (32, 1, 5, 1, 6),  # the default recipe's network, one window
        (32, 1, 5, 17, 6),  # two blocks of eight windows and one more
        (1, 1, 1, 3, 1),
        (5, 3, 2, 9, 4),  # gate columns padded to the kernel's blocks
        (33, 7, 3, 8, 2),
        (256, 256, 1, 2, 2),  # the largest the kernel takes
    ],
)
@pytest.mark.parametrize("sequences", [False, True])
def test_matches_the_numpy_engine(
    units: int, features: int, members: int, batch: int, steps: int, sequences: bool
) -> None:
    layer = random_lstm(units, features, members, sequences)
    x = inputs(steps, 1, batch, features)
    ours, reference = layer.run(x), layer.run(x, compiled=False)
    assert layer.kernel_weights is not None
    assert ours.shape == reference.shape
    assert np.abs(ours - reference).max() < ATOL


def test_a_stack_reads_each_members_own_input_in_place() -> None:
    """The second layer gets (time, members, batch, units): one input per member, at strides
    of a transposed view, read without a copy."""
    first, second = random_lstm(16, 2, 3, sequences=True), random_lstm(8, 16, 3, seed=2)
    base = inputs(6, 1, 10, 2)
    windows = base[:, :, ::2]  # every other window: a row stride the kernel must follow
    hidden = first.run(windows)
    np.testing.assert_allclose(hidden, first.run(windows, compiled=False), atol=ATOL, rtol=0)
    transposed = np.ascontiguousarray(hidden.transpose(2, 0, 1, 3)).transpose(1, 2, 0, 3)
    out = second.run(transposed)
    np.testing.assert_allclose(out, second.run(transposed, compiled=False), atol=ATOL, rtol=0)


def with_head(lstm: LSTM, activation: str = "linear", outputs: int = 1, seed: int = 4) -> Network:
    """The LSTM, then a Dense layer per member: (lstm.members, lstm.units, outputs)."""
    rng = np.random.default_rng(seed)
    shape = (lstm.members, lstm.units, outputs)
    kernel, bias = rng.normal(0.0, 0.6, shape), rng.normal(0.0, 0.6, (lstm.members, 1, outputs))
    head = Dense("head", activation, layers._frozen(kernel), layers._frozen(bias))
    return Network(None, lstm.inputs, (lstm, head))


@pytest.mark.parametrize(
    ("units", "features", "members", "batch"),
    [
        (32, 1, 5, 1),  # the default recipe's network, one window
        (32, 1, 5, 1003),  # blocks of eight windows, of two, and one alone
        (5, 3, 2, 9),  # gate columns padded to the kernel's blocks
        (1, 1, 1, 2),
    ],
)
def test_the_members_mean_is_one_kernel_call_that_matches_the_numpy_engine(
    units: int, features: int, members: int, batch: int
) -> None:
    network = with_head(random_lstm(units, features, members))
    assert network.member_mean is not None  # an LSTM, then a linear Dense(1): one call
    x = inputs(4, 1, batch, features)[:, 0].transpose(1, 0, 2)  # (batch, time, features)
    mean = network.mean(x)
    reference = network.mean(x, compiled=False)
    assert mean.dtype == np.float64 and mean.shape == (batch,)
    assert np.abs(mean - reference).max() < ATOL
    np.testing.assert_array_equal(reference, network.predict(x, compiled=False).mean(axis=0)[:, 0])
    np.testing.assert_array_equal(network.mean(x[::-1]), mean[::-1])  # strides followed


def test_other_networks_average_their_layers_outputs() -> None:
    x = inputs(3, 1, 6, 2)[:, 0].transpose(1, 0, 2)
    relu = with_head(random_lstm(8, 2, 3), activation="relu")
    stacked = Network(None, 2, (random_lstm(8, 2, 3, sequences=True), *relu.layers[1:]))
    for network in (relu, stacked):
        assert network.member_mean is None
        np.testing.assert_array_equal(network.mean(x), network.predict(x).mean(axis=0)[:, 0])
    with pytest.raises(ValueError, match="one-output"):
        with_head(random_lstm(8, 2, 3), outputs=2).mean(x)
    with pytest.raises(ValueError, match="windows of shape"):
        relu.mean(x[:, :, :1])
    with pytest.raises(ValueError, match="windows of shape"):
        with_head(random_lstm(8, 2, 3)).mean(x[:, :, :1])


def test_non_finite_inputs_come_out_as_numpy_computes_them() -> None:
    layer = random_lstm(8, 2, 2)
    x = inputs(3, 1, 4, 2)
    x[0, 0, 0, 0], x[1, 0, 1, 1], x[2, 0, 2, 0] = np.nan, np.inf, -np.inf
    np.testing.assert_allclose(
        layer.run(x), layer.run(x, compiled=False), atol=ATOL, equal_nan=True
    )


def test_layers_the_kernel_cannot_take_run_on_numpy() -> None:
    too_wide = random_lstm(257, 1, 1)
    assert too_wide.kernel_weights is None
    x = inputs(2, 1, 3, 1)
    np.testing.assert_array_equal(too_wide.run(x), too_wide.run(x, compiled=False))
    rng = np.random.default_rng(3)
    weights: Any = tuple(
        layers._frozen(rng.normal(size=s)) for s in ((1, 1, 16), (1, 4, 16), (1, 1, 16))
    )
    assert LSTM("relu", ("relu", "sigmoid"), False, weights).kernel_weights is None


@pytest.mark.parametrize("call", ["layer", "mean"])
def test_threads_share_the_kernel(call: str) -> None:
    """Long calls let go of the GIL: concurrent forecasts must not mix."""
    layer = random_lstm(32, 1, 5)
    network = with_head(layer)
    windows = compiled.RELEASE_GIL_FROM // (5 * 6) + 1
    batches = [inputs(6, 1, windows, 1, seed=s) for s in range(4)]

    def compute(x: np.ndarray, compiled: bool = True) -> np.ndarray:
        if call == "layer":
            return layer.run(x, compiled)
        return network.mean(x[:, 0].transpose(1, 0, 2), compiled)

    expected = [compute(x, compiled=False) for x in batches]
    got: list[np.ndarray | None] = [None] * len(batches)

    def run(i: int) -> None:
        for _ in range(3):
            got[i] = compute(batches[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ours, reference in zip(got, expected, strict=True):
        assert ours is not None and np.abs(ours - reference).max() < ATOL


def test_no_library_means_the_numpy_engine(tmp_path: Path) -> None:
    kernel, why = compiled.load(tmp_path)
    assert kernel is None and "not built" in why
    assert layers.checked(kernel, why) == (None, why)


def test_a_file_that_is_no_library_is_not_loaded(tmp_path: Path) -> None:
    suffix = compiled.importlib.machinery.EXTENSION_SUFFIXES[0]
    (tmp_path / f"_kernel{suffix}").write_bytes(b"\x7fELF not really")
    kernel, why = compiled.load(tmp_path)
    assert kernel is None and "does not load" in why


def test_a_copy_of_the_built_library_loads_and_passes_its_check(tmp_path: Path) -> None:
    assert layers.KERNEL is not None
    shutil.copy(layers.KERNEL.path, tmp_path / layers.KERNEL.path.name)
    kernel, why = compiled.load(tmp_path)
    assert kernel is not None and why == "compiled"
    assert layers.checked(kernel, why)[0] is kernel


class _OffByATenThousandth(compiled.Kernel):
    """The real kernel with its answers nudged: what a miscompiled build could give."""

    def forward(self, weights: Any, x: Any, sequences: bool) -> Any:
        return super().forward(weights, x, sequences) + 1e-4


def test_a_kernel_that_differs_from_numpy_is_refused() -> None:
    assert layers.KERNEL is not None
    nudged = _OffByATenThousandth(layers.KERNEL.path)
    kernel, why = layers.checked(nudged, "compiled")
    assert kernel is None and "differs from the NumPy engine" in why


class _Tampered(compiled.Kernel):
    """The real kernel with one binding's answers changed after each call: what a
    miscompiled build could give. `tamper` gets the call's arguments."""

    def __init__(self, path: Path, binding: str, tamper: Callable[..., None]) -> None:
        super().__init__(path)
        self.binding, self.tamper = binding, tamper

    def call(self, long: bool) -> Any:
        return self._wrapped("call", super().call(long))

    def recursion(self, long: bool) -> Any:
        return self._wrapped("recursion", super().recursion(long))

    def _wrapped(self, binding: str, real: Any) -> Any:
        if binding != self.binding:
            return real

        def call(*args: Any) -> int:
            failed = int(real(*args))
            self.tamper(*args)
            return failed

        return call


def _zero_the_mean(*args: Any) -> None:
    """A miscompiled head: the members' mean comes out 0."""
    head, mean, batch = args[3], args[4], args[7]  # lstm_forward's order
    if head is not None:
        ctypes.memset(mean, 0, batch * 8)


def _nudge_the_recursion(*args: Any) -> None:
    """A miscompiled recursion: each row's first value filled is 1e-4 off."""
    u, row, first, batch = args[5], args[6], args[7], args[9]  # lstm_recursion's order
    values = (ctypes.c_double * (row * batch)).from_address(u)
    for b in range(batch):
        values[b * row + first] += 1e-4


@pytest.mark.parametrize(
    ("binding", "tamper"), [("call", _zero_the_mean), ("recursion", _nudge_the_recursion)]
)
def test_a_kernel_whose_mean_or_recursion_differs_from_numpy_is_refused(
    binding: str, tamper: Callable[..., None]
) -> None:
    assert layers.KERNEL is not None
    kernel, why = layers.checked(_Tampered(layers.KERNEL.path, binding, tamper), "compiled")
    assert kernel is None and "differs from the NumPy engine" in why


def test_inputs_the_kernel_would_misread_are_refused() -> None:
    """Float64 input is converted; an input for another number of members is refused before
    the kernel would read past it."""
    layer = random_lstm(8, 2, members=3)
    assert layers.KERNEL is not None and layer.kernel_weights is not None
    x = inputs(3, 1, 4, 2)
    np.testing.assert_allclose(layer.run(x.astype(np.float64)), layer.run(x), atol=ATOL, rtol=0)
    with pytest.raises(ValueError, match="members"):
        layers.KERNEL.forward(layer.kernel_weights, inputs(3, 2, 4, 2), False)


RECURSION_NETWORK = with_head(random_lstm(8, 1, members=3, seed=7))


@settings(max_examples=120, deadline=None)
@given(
    season_length=st.sampled_from([1, 4, 12]),
    look_back=st.integers(1, 8),
    level=st.sampled_from([(0.0, 10), (0.4, 3), (1.0, 12)]),  # (g, P): P past the window too
    log=st.booleans(),
    weight=st.sampled_from([0.3, 1.0]),
    lengths=st.lists(st.integers(0, 30), min_size=1, max_size=10),  # values short of width
    horizon=st.integers(1, 27),
    seed=st.integers(0, 10_000),
)
def test_the_recursion_in_one_call_is_the_pipelines_loop(
    season_length: int,
    look_back: int,
    level: tuple[float, int],
    log: bool,
    weight: float,
    lengths: list[int],
    horizon: int,
    seed: int,
) -> None:
    """`MemberMean.recurse` against the pipeline's own loop, its reference, stepping the
    same network: rows of several paddings (the level's oldest values unknown), one
    scale per row, horizons past several seasons. The level's sums may round apart, and
    a window's float32 with them, so the two agree to float32 rounding, not bit for bit."""
    level_weight, level_points = level
    pipeline = SeasonalPipeline(
        look_back, season_length, log=log, network_weight=weight,
        level_weight=level_weight, level_points=level_points,
    )  # fmt: skip
    member_mean = RECURSION_NETWORK.member_mean
    assert member_mean is not None
    rng = np.random.default_rng(seed)
    width = pipeline.history_width
    series = 500 + np.cumsum(rng.normal(0, 5, width)) + 20 * np.sin(np.arange(width))
    rows = as_rows([series[min(k, width - pipeline.history_length) :] for k in lengths], width)
    scaler = AffineScaler(rng.uniform(0.01, 0.1, len(rows)), 0.2)
    compiled_ = pipeline.forecast(rows, horizon, scaler, member_mean)
    loop = pipeline.forecast(rows, horizon, scaler, lambda x: member_mean(x))
    np.testing.assert_allclose(compiled_, loop, rtol=1e-6)
    assert not np.array_equal(compiled_, pipeline.without_network().forecast(
        rows, horizon, scaler, member_mean))  # fmt: skip


def test_weights_by_row_reach_the_recursion() -> None:
    """`forecast_by_row`'s weight per row multiplies the network's correction in the
    compiled recursion as in the loop; a row of weight 0 is its pipeline alone."""
    member_mean = RECURSION_NETWORK.member_mean
    assert member_mean is not None
    pipeline = SeasonalPipeline(6, 12, level_weight=0.5)
    rng = np.random.default_rng(3)
    rows = 300 + rng.normal(0, 10, (4, pipeline.history_width))
    weight = np.array([0.0, 0.25, 1.0, 0.6])
    log, spread = np.zeros(4, dtype=bool), rng.uniform(1.0, 3.0, 4)
    scaler = AffineScaler(0.5, 0.1)

    def forecast(predict: Any, weights: np.ndarray | None = weight) -> np.ndarray:
        return forecast_by_row(rows, 13, pipeline, scaler, predict, log, spread, weights)

    compiled_ = forecast(member_mean)
    np.testing.assert_allclose(compiled_, forecast(lambda x: member_mean(x)), rtol=1e-9)
    alone = forecast(member_mean, np.zeros(4))
    np.testing.assert_allclose(compiled_[0], alone[0], rtol=1e-12)  # the level rounds apart
    assert not np.allclose(compiled_[1:], alone[1:])


def test_a_recursion_the_kernel_would_misread_is_refused() -> None:
    member_mean = RECURSION_NETWORK.member_mean
    assert member_mean is not None
    u = np.zeros((2, 9))
    level = np.ones((2, 4))
    refusals: list[tuple[dict[str, Any], str]] = [
        (dict(u=u[:, ::2]), "C-ordered"),
        (dict(u=u.astype(np.float32)), "float64"),
        (dict(look_back=7), "no recursion"),  # a window from before u's start
        (dict(first=10), "no recursion"),
        (dict(level=None), "level"),
        (dict(level=np.ones((2, 7))), "no recursion"),  # a level from before u's start
    ]
    for bad, match in refusals:
        call: dict[str, Any] = dict(
            u=u, first=5, look_back=3, scale=1.0, offset=0.0, weight=1.0, level=level,
            level_weight=0.5,
        )  # fmt: skip
        with pytest.raises(ValueError, match=match):
            member_mean.recurse(**(call | bad))
    narrow = compiled.MemberMean(layers.KERNEL, *_two_feature_weights())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no recursion"):
        narrow.recurse(u, 5, 3, 1.0, 0.0, 1.0)


def _two_feature_weights() -> tuple[np.ndarray, np.ndarray]:
    """A member mean's weights for windows of two features: no recursion's windows."""
    layer = random_lstm(4, 2, members=1)
    assert layer.kernel_weights is not None
    return layer.kernel_weights, np.zeros((1, 5), np.float32)

"""The layers the NumPy engine runs: one class per Keras layer kind, each with its own `run`.

Each class knows three things about its kind: which Keras config options it
implements (anything else is refused at load time rather than silently
mis-computed), how its saved weights are laid out, and how to compute it.
Weights are stacked over ensemble members along a leading axis (size 1 for a
single network), so every member of an ensemble runs in the same few array
operations per time step: a forecast's cost grows with the work, not with the
number of Python-level passes.

Adding a layer kind is one class here, registered in `LAYERS`, plus its parity
test against Keras; `app.engine.archive` finds its weights by Keras' naming rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, Self

import numpy as np
import numpy.typing as npt

from app.engine import compiled
from app.engine.errors import ModelFormatError, UnsupportedModelError

Array = npt.NDArray[np.floating[Any]]  # float64 as read from the archive, PRECISION once stacked
Config = Mapping[str, Any]
Shape = tuple[int, ...]
# (variable path inside the layer's h5 group, the arrays' shapes) -> the arrays, in float64.
# The shapes come from the config (`weight_shapes`): a reader checks each array's shape
# before it reads the array, so a file cannot make it read more than the config declares.
WeightReader = Callable[[str, list[Shape]], list[npt.NDArray[np.float64]]]


def _sigmoid(z: Array, out: Array) -> None:
    # tanh form of the logistic function: same values, and no overflow warnings from exp().
    np.tanh(np.multiply(z, 0.5, out=out), out=out)
    out *= 0.5
    out += 0.5


# Activations write into ``out`` (which may be ``z``): nothing is allocated inside the time loop.
ACTIVATIONS: dict[str, Callable[[Array, Array], object]] = {
    "linear": lambda z, out: np.copyto(out, z),
    "relu": lambda z, out: np.maximum(z, 0.0, out=out),
    "tanh": lambda z, out: np.tanh(z, out=out),
    "sigmoid": _sigmoid,
    # Keras 3 definition, relu6(x + 3) / 6 (Keras 2 used 0.2 * x + 0.5, which differs).
    "hard_sigmoid": lambda z, out: np.divide(np.clip(z + 3.0, 0.0, 6.0, out=out), 6.0, out=out),
}
# Layers with no weights that compute nothing at inference: skipped when the stack is built.
PASSTHROUGH = frozenset({"InputLayer", "Dropout"})


class Layer(Protocol):
    """What the network needs of every layer kind."""

    keras_class: ClassVar[str]
    recurrent: ClassVar[bool]  # reads a time axis (the stack's front) rather than a vector
    name: str
    units: int
    return_sequences: bool

    @property
    def inputs(self) -> int: ...

    @property
    def members(self) -> int: ...

    def run(self, x: Array, compiled: bool = True) -> Array:
        """The layer's output; `compiled=False` computes it with NumPy, the reference."""
        ...

    @classmethod
    def stack(cls, layers: Sequence[Self]) -> Self: ...

    @classmethod
    def weight_shapes(cls, body: Config, inputs: int) -> list[Shape]: ...

    @classmethod
    def from_keras(cls, body: Config, inputs: int, read: WeightReader) -> Self: ...


def _options(body: Config, kind: str, fixed: Mapping[str, object], acts: Sequence[str]) -> None:
    """Refuse options this engine does not compute: bad units, unknown activations, `fixed` ones."""
    where = f"layer {body.get('name', '?')!r} of type {kind}"
    units = body["units"]
    problems = [] if isinstance(units, int) and units > 0 else [f"units={units!r}"]
    for key in acts:
        if not isinstance(name := body.get(key, "linear"), str) or name not in ACTIVATIONS:
            problems.append(f"{key}={name!r} (supported: {', '.join(ACTIVATIONS)})")
    problems += [
        f"{key}={body[key]!r}" for key, want in fixed.items() if body.get(key, want) != want
    ]
    if problems:
        raise UnsupportedModelError(f"{where} is not supported: {'; '.join(problems)}")


PRECISION = np.float32
"""What the engine computes in: Keras' own precision, faster than float64 and well within
the parity rule (BENCHMARKS.md, "Measurements behind design choices"). Weights are read in
float64, then rounded once to this."""


def _stacked(arrays: Sequence[Array]) -> Array:
    """One read-only array with a leading member axis: shared by every request, never changed."""
    return _frozen(np.stack(arrays))


def _frozen(weights: Array) -> Array:
    out = np.ascontiguousarray(weights, dtype=PRECISION)
    out.flags.writeable = False
    return out


def _same(layers: Sequence[Any], *attributes: str) -> None:
    for attribute in attributes:
        if len({getattr(layer, attribute) for layer in layers}) > 1:
            raise ModelFormatError(f"ensemble members differ in {attribute}; they cannot stack")


class _Stacked:
    """What every layer's `kernel`, (members, inputs, width), tells about it."""

    kernel: Array

    @property
    def inputs(self) -> int:
        return int(self.kernel.shape[1])

    @property
    def members(self) -> int:
        return int(self.kernel.shape[0])


class Dense(_Stacked):
    """`activation(x @ kernel + bias)`, on (members, batch, inputs) -> (members, batch, units)."""

    keras_class: ClassVar[str] = "Dense"
    recurrent: ClassVar[bool] = False
    return_sequences = False

    def __init__(self, name: str, activation: str, kernel: Array, bias: Array) -> None:
        self.name, self.activation = name, activation
        self.kernel, self.bias = kernel, bias  # (members, inputs, units), (members, 1, units)
        self.units = kernel.shape[2]

    @classmethod
    def weight_shapes(cls, body: Config, inputs: int) -> list[Shape]:
        """Kernel (inputs, units), then the bias (units,) if the layer has one."""
        _options(body, cls.keras_class, {}, ["activation"])
        units = body["units"]
        bias = [(units,)] if bool(body.get("use_bias", True)) else []
        return [(inputs, units), *bias]

    @classmethod
    def from_keras(cls, body: Config, inputs: int, read: WeightReader) -> Self:
        arrays = read("vars", cls.weight_shapes(body, inputs))
        kernel, bias = arrays[0], arrays[1] if len(arrays) > 1 else np.zeros(body["units"])
        activation = body.get("activation", "linear")
        return cls(body["name"], activation, _stacked([kernel]), _stacked([bias[None]]))

    @classmethod
    def stack(cls, layers: Sequence[Self]) -> Self:
        _same(layers, "activation", "units", "inputs")
        kernel = _stacked([k for layer in layers for k in layer.kernel])
        bias = _stacked([b for layer in layers for b in layer.bias])
        return cls(layers[0].name, layers[0].activation, kernel, bias)

    def run(self, x: Array, compiled: bool = True) -> Array:
        y = np.matmul(x, self.kernel)
        y += self.bias
        ACTIVATIONS[self.activation](y, y)
        return y


class LSTM(_Stacked):
    """Keras' LSTM, on time-major input (time, members or 1, batch, inputs).

    Returns (time, members, batch, units) with `return_sequences`, else the last
    state, (members, batch, units). Columns are reordered at load time from
    Keras' gate order (i, f, c, o) to (i, f, o, c), so the three sigmoid-like
    gates are one slice. The default activation pair (tanh, sigmoid) runs as one
    tanh per step: sigmoid(x) = tanh(x / 2) / 2 + 1 / 2, with the x / 2 folded
    into the gate columns at load (exact: halving only changes the exponent).

    Inside `run` the state is feature-major, (members, features, batch), and
    each step is one matmul of `step_weights`, [recurrent kernel | kernel |
    bias] transposed and split by gate, with the column [h; x_t; 1]: the input
    and bias terms ride along in the recurrent product, and every gate is one
    contiguous block, (members, units, batch), so the elementwise work runs on
    contiguous memory: faster than batch-major steps with a separate input
    product (BENCHMARKS.md), and for a few windows faster than gates interleaved
    member by member (one window 62 against 70 us, eight 124 against 149 us).

    That is the NumPy reference. Where the install built the compiled kernel and it
    passed its check (`KERNEL`), a layer with the default activations runs there instead:
    the same arithmetic in one call (`app/engine/kernel.c`), on `kernel_weights`, the
    step weights laid out for it (`compiled.Kernel.layout`).
    """

    keras_class: ClassVar[str] = "LSTM"
    recurrent: ClassVar[bool] = True
    # Options that change the result; the rest (initializers, dropout...) is inert at inference.
    FIXED: ClassVar[dict[str, object]] = {
        "return_state": False,
        "go_backwards": False,
        "stateful": False,
        "unroll": False,
    }

    def __init__(
        self,
        name: str,
        activations: tuple[str, str],
        return_sequences: bool,
        weights: tuple[Array, Array, Array],
    ) -> None:
        self.name, self.activations, self.return_sequences = name, activations, return_sequences
        # (members, inputs, 4u), (members, u, 4u), (members, 1, 4u), gate columns as (i, f, o, c)
        self.kernel, self.recurrent_kernel, self.bias = weights
        self.units = self.recurrent_kernel.shape[1]
        self.fused = activations == ("tanh", "sigmoid")
        # (4, members, u, u + inputs + 1): one step's whole pre-activation is one product,
        # gate-major, so each gate (and the three sigmoid-like ones) is contiguous memory.
        joined = np.concatenate([self.recurrent_kernel, self.kernel, self.bias], axis=1)
        by_gate = joined.transpose(0, 2, 1).reshape(self.members, 4, self.units, -1)
        self.step_weights = _frozen(by_gate.transpose(1, 0, 2, 3))
        self.kernel_weights: Array | None = None
        if self.fused and KERNEL is not None and KERNEL.supports(self.units, self.inputs):
            self.kernel_weights = _frozen(KERNEL.layout(by_gate))

    @classmethod
    def weight_shapes(cls, body: Config, inputs: int) -> list[Shape]:
        """Kernel (inputs, 4 units), recurrent kernel (units, 4 units), then the bias (4 units,)."""
        _options(body, cls.keras_class, cls.FIXED, ["activation", "recurrent_activation"])
        gates = 4 * (units := body["units"])
        bias = [(gates,)] if bool(body.get("use_bias", True)) else []
        return [(inputs, gates), (units, gates), *bias]

    @classmethod
    def from_keras(cls, body: Config, inputs: int, read: WeightReader) -> Self:
        arrays = read("cell/vars", cls.weight_shapes(body, inputs))
        units = body["units"]
        bias = arrays.pop() if len(arrays) > 2 else np.zeros(4 * units)
        acts = (body.get("activation", "tanh"), body.get("recurrent_activation", "sigmoid"))
        order = np.r_[0 : 2 * units, 3 * units : 4 * units, 2 * units : 3 * units]  # ifco -> ifoc
        halve = 0.5 if acts == ("tanh", "sigmoid") else 1.0
        scale = np.where(np.arange(4 * units) < 3 * units, halve, 1.0)
        kernel, recurrent, bias = (a[..., order] * scale for a in (arrays[0], arrays[1], bias))
        weights = (_stacked([kernel]), _stacked([recurrent]), _stacked([bias[None]]))
        return cls(body["name"], acts, bool(body.get("return_sequences", False)), weights)

    @classmethod
    def stack(cls, layers: Sequence[Self]) -> Self:
        _same(layers, "activations", "return_sequences", "units", "inputs")
        weights = tuple(
            _stacked([w for layer in layers for w in getattr(layer, key)])
            for key in ("kernel", "recurrent_kernel", "bias")
        )
        first = layers[0]
        return cls(first.name, first.activations, first.return_sequences, weights)  # type: ignore[arg-type]

    def run(self, x: Array, compiled: bool = True) -> Array:
        if compiled and self.kernel_weights is not None:
            assert KERNEL is not None
            return KERNEL.forward(self.kernel_weights, x, self.return_sequences)
        act, gate_act = (ACTIVATIONS[name] for name in self.activations)
        steps, batch, u, k = x.shape[0], x.shape[2], self.units, self.inputs
        members = self.members
        # columns[t] = [h_{t-1}; x_t; 1] per member, feature-major: h_t is written into
        # columns[t + 1], next to the input already waiting there.
        columns = np.empty((steps + 1, members, u + k + 1, batch), PRECISION)
        columns[0, :, :u] = 0.0
        columns[:steps, :, u : u + k] = x.transpose(0, 1, 3, 2)
        columns[:, :, u + k] = 1.0
        z = np.empty((4, members, u, batch), PRECISION)
        c = np.zeros((members, u, batch), PRECISION)
        ig = np.empty_like(c)
        i, f, o, g = z  # views, refilled each step
        gates = z[:3]
        for t in range(steps):
            np.matmul(self.step_weights, columns[t], out=z)
            if self.fused:
                np.tanh(z, out=z)
                gates *= 0.5
                gates += 0.5
            else:
                gate_act(gates, gates)
                act(g, g)
            c *= f  # c = f * c + i * g
            np.multiply(i, g, out=ig)
            c += ig
            h = columns[t + 1, :, :u]
            act(c, h)  # h = o * act(c)
            h *= o
        states = columns[1:, :, :u].transpose(0, 1, 3, 2)  # (time, members, batch, units)
        return states if self.return_sequences else states[-1]


LAYERS: dict[str, type[Dense] | type[LSTM]] = {kind.keras_class: kind for kind in (LSTM, Dense)}
"""Every layer kind the engine computes, by Keras class name."""


def checked(kernel: compiled.Kernel | None, status: str) -> tuple[compiled.Kernel | None, str]:
    """The kernel if it gives the NumPy engine's numbers, else None and why.

    A random two-member layer whose gate columns need padding, stacked under a second,
    over nine windows (blocks of eight or of two, and one alone), and the second with a
    Dense(1) head, averaged (`compiled.MemberMean`), and a forecast's recursion in one
    call (`MemberMean.recurse`): every path of the kernel, against the reference, within
    1e-5 (the recursion's arithmetic around the network within rounding).
    """
    if kernel is None:
        return None, status
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 1, 9, 3)).astype(PRECISION)
    for units, inputs, sequences in ((12, 3, True), (16, 12, False)):
        weights = (
            _frozen(rng.normal(0, 0.5, (2, inputs, 4 * units))),
            _frozen(rng.normal(0, 0.5, (2, units, 4 * units))),
            _frozen(rng.normal(0, 0.5, (2, 1, 4 * units))),
        )
        layer = LSTM("check", ("tanh", "sigmoid"), sequences, weights)
        expected = layer.run(x, compiled=False)
        laid_out = kernel.layout(layer.step_weights.transpose(1, 0, 2, 3))
        try:
            got = kernel.forward(laid_out, x, sequences)
        except ValueError as exc:
            return None, f"refused its check: {exc}"
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=0, atol=1e-5):
            return None, f"{kernel.path.name} differs from the NumPy engine: not used"
        x = got
    windows = rng.normal(size=(9, 4, inputs)).astype(PRECISION)  # (batch, time, inputs)
    head = rng.normal(0, 0.5, (2, units + 1)).astype(PRECISION)
    states = layer.run(windows.transpose(1, 0, 2)[:, np.newaxis], compiled=False)
    outputs = np.einsum("mbu,mu->mb", states, head[:, :units]) + head[:, units:]
    try:
        mean = compiled.MemberMean(kernel, laid_out, head)(windows)
    except ValueError as exc:
        return None, f"refused its check: {exc}"
    if not np.allclose(mean, outputs.astype(np.float64).mean(axis=0), rtol=0, atol=1e-5):
        return None, f"{kernel.path.name} differs from the NumPy engine: not used"
    try:
        recursion_differs = _recursion_differs(kernel, rng)
    except ValueError as exc:
        return None, f"refused its check: {exc}"
    if recursion_differs:
        return None, f"{kernel.path.name} differs from the NumPy engine: not used"
    return kernel, status


def _recursion_differs(kernel: compiled.Kernel, rng: np.random.Generator) -> bool:
    """Whether `MemberMean.recurse` strays from its definition (`app.contract.pipeline.Recursion`),
    stepped here with the members' mean just checked: three rows, one with its level's
    oldest value unknown, a scale and a weight per row, three steps."""
    units, look_back, points, level_weight, offset = 5, 3, 4, 0.6, 0.1
    weights = (
        _frozen(rng.normal(0, 0.5, (2, 1, 4 * units))),
        _frozen(rng.normal(0, 0.5, (2, units, 4 * units))),
        _frozen(rng.normal(0, 0.5, (2, 1, 4 * units))),
    )
    step_weights = LSTM("check", ("tanh", "sigmoid"), False, weights).step_weights
    laid_out = kernel.layout(step_weights.transpose(1, 0, 2, 3))
    head = rng.normal(0, 0.5, (2, units + 1)).astype(PRECISION)
    member_mean = compiled.MemberMean(kernel, laid_out, head)
    u = np.empty((3, points + 3))
    u[:, :points] = rng.normal(size=(3, points))
    u[0, 0] = np.nan
    scale, weight = rng.uniform(0.5, 2.0, 3), rng.uniform(0.0, 1.0, 3)
    raw = 0.75 ** np.arange(points - 1, -1, -1)
    level = np.stack([raw, raw / raw.sum()])
    expected = u.copy()
    for t in range(points, u.shape[1]):
        window = expected[:, t - look_back : t]
        last = window[:, -1]
        out = member_mean(((window - last[:, np.newaxis]) * scale[:, np.newaxis])[..., None])
        recent = expected[:, t - points : t]
        known = ~np.isnan(recent)
        mean_level = np.where(known, recent, 0.0) @ raw / (known @ raw)
        anchor = last + level_weight * (mean_level - last)
        expected[:, t] = anchor + (weight * out - offset) / scale
    member_mean.recurse(u, points, look_back, scale, offset, weight, level, level_weight)
    return not np.allclose(u, expected, rtol=1e-9, atol=1e-12, equal_nan=True)


KERNEL: compiled.Kernel | None = None  # what the layers `checked` builds see: no kernel
KERNEL, ENGINE = checked(*compiled.load())
"""The compiled kernel LSTM layers use (None: NumPy serves), and which engine serves."""

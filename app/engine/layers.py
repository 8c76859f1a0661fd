"""The layers the NumPy engine runs, built from a Keras layer config and its saved weights.

Only what the forecaster needs is implemented (stacked LSTM, Dense, Dropout as the
inference no-op it is). Anything else is refused at load time rather than silently
mis-computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from app.engine.errors import ModelFormatError, UnsupportedModelError

Array = npt.NDArray[np.float64]
Config = Mapping[str, Any]


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
# LSTM options that change the result; the rest (initializers, dropout...) is inert at inference.
_LSTM_FIXED = {"return_state": False, "go_backwards": False, "stateful": False, "unroll": False}
# h5 group prefix per layer class: Keras uses the snake_case class name (see _h5_groups).
H5_PREFIX = {"LSTM": "lstm", "Dense": "dense", "Dropout": "dropout", "InputLayer": "input_layer"}
# Rows per forward pass: bounds the (time, rows, 4 * units) scratch arrays and keeps them cached.


@dataclass(frozen=True, eq=False)
class Layer:
    """One LSTM or Dense layer, ready to run. LSTM columns are reordered at load time from Keras'
    gate order (i, f, c, o) to (i, f, o, c): the three sigmoid-like gates become one slice."""

    kind: str  # "LSTM" or "Dense"
    name: str
    units: int
    activation: str
    recurrent_activation: str | None  # LSTM only
    return_sequences: bool
    kernel: Array  # (inputs, 4 * units) for LSTM, (inputs, units) for Dense
    recurrent: Array | None  # (units, 4 * units), LSTM only
    bias: Array
    fused: bool = False  # tanh/sigmoid LSTM whose gate columns were halved at load time

    def run(self, x: Array) -> Array:
        """Dense: (batch, in) -> (batch, units). LSTM: time-major (time, batch, in) to
        (time, batch, units) if return_sequences else (batch, units); loops over time only."""
        act = ACTIVATIONS[self.activation]
        if self.recurrent is None:
            y = x @ self.kernel + self.bias
            act(y, y)
            return y
        gate_act = ACTIVATIONS[self.recurrent_activation or "sigmoid"]
        steps, batch, u = x.shape[0], x.shape[1], self.units
        zx = x @ self.kernel + self.bias  # the input half of every step's pre-activation at once
        hs = np.zeros((steps + 1, batch, u))  # hs[t + 1] = h_t; hs[0] is the zero initial state
        c, ig, z = np.zeros((batch, u)), np.empty((batch, u)), np.empty((batch, 4 * u))
        i, f, o, g = (z[:, k * u : (k + 1) * u] for k in range(4))  # views, refilled each step
        gates = z[:, : 3 * u]
        for t in range(steps):
            h = hs[t + 1]
            np.matmul(hs[t], self.recurrent, out=z)
            z += zx[t]
            if self.fused:  # one tanh for all four blocks, see _build
                np.tanh(z, out=z)
                gates *= 0.5
                gates += 0.5
            else:
                gate_act(gates, gates)
                act(g, g)
            c *= f  # c = f * c + i * g
            np.multiply(i, g, out=ig)
            c += ig
            act(c, h)  # h = o * act(c)
            h *= o
        return hs[1:] if self.return_sequences else hs[-1]


def check(cfg: Config) -> bool:
    """Refuse what this engine does not implement; True if the layer has weights to compute."""
    kind, body = cfg["class_name"], cfg["config"]
    where = f"layer {body.get('name', '?')!r} of type {kind}"
    if kind not in H5_PREFIX:
        raise UnsupportedModelError(f"{where} is not supported (supported: LSTM, Dense, Dropout)")
    if kind not in ("LSTM", "Dense"):
        return False
    units = body["units"]
    problems = [] if isinstance(units, int) and units > 0 else [f"units={units!r}"]
    for key in ["activation", "recurrent_activation"] if kind == "LSTM" else ["activation"]:
        if not isinstance(name := body.get(key, "linear"), str) or name not in ACTIVATIONS:
            problems.append(f"{key}={name!r} (supported: {', '.join(ACTIVATIONS)})")
    for key, default in _LSTM_FIXED.items() if kind == "LSTM" else ():
        if body.get(key, default) != default:
            problems.append(f"{key}={body[key]!r}")
    if problems:
        raise UnsupportedModelError(f"{where} is not supported: {'; '.join(problems)}")
    return True


def _read_vars(h5: h5py.File, group: str, name: str, var_path: str, count: int) -> list[Array]:
    """Read ``var_path/0..count-1`` as float64; check owner name, completeness, finiteness."""
    saved_name = h5[f"{group}/vars"].attrs.get("name", name)
    if saved_name != name:
        raise ModelFormatError(f"weights in {group} belong to {saved_name!r}, not {name!r}")
    found = set(h5[var_path].keys())
    if found != {str(i) for i in range(count)}:
        raise ModelFormatError(f"{var_path}: expected {count} weight arrays, found {sorted(found)}")
    arrays = [np.array(h5[f"{var_path}/{i}"], dtype=np.float64) for i in range(count)]
    if not all(np.isfinite(a).all() for a in arrays):
        raise ModelFormatError(f"{var_path}: weights contain NaN or infinity")
    return arrays


def build(cfg: Config, group: str, h5: h5py.File) -> Layer:
    """Read one LSTM/Dense layer's weights and check their shapes against its config."""
    kind, body = cfg["class_name"], cfg["config"]
    name, units, use_bias = body["name"], body["units"], bool(body.get("use_bias", True))
    lstm = kind == "LSTM"
    width = 4 * units if lstm else units
    var_path = f"{group}/cell/vars" if lstm else f"{group}/vars"
    arrays = _read_vars(h5, group, name, var_path, 1 + lstm + use_bias)
    bias = arrays.pop() if use_bias else np.zeros(width)
    expected = [(arrays[0].shape[0], width)] + [(units, width)] * lstm + [(width,)]
    if [a.shape for a in [*arrays, bias]] != expected:
        raise ModelFormatError(f"layer {name!r}: weight shapes do not match units={units}")
    if not lstm:
        act = body.get("activation", "linear")
        return Layer(kind, name, units, act, None, False, _ro(arrays[0]), None, _ro(bias))
    order = np.r_[0 : 2 * units, 3 * units : 4 * units, 2 * units : 3 * units]  # ifco -> ifoc
    acts = body.get("activation", "tanh"), body.get("recurrent_activation", "sigmoid")
    # The default pair runs as one tanh per step: sigmoid(x) = tanh(x / 2) / 2 + 1 / 2, with the
    # x / 2 folded into the gate columns here (exact: halving only changes the exponent).
    fused = acts == ("tanh", "sigmoid")
    scale = np.where(np.arange(4 * units) < 3 * units, 0.5 if fused else 1.0, 1.0)
    kernel, recurrent, bias = (_ro(a[..., order] * scale) for a in (arrays[0], arrays[1], bias))
    sequences = bool(body.get("return_sequences", False))
    return Layer(kind, name, units, *acts, sequences, kernel, recurrent, bias, fused)


def _ro(a: Array) -> Array:
    """Mark read-only: one Network is shared by all requests and must never change."""
    a.flags.writeable = False
    return a

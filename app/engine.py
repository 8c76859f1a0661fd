"""NumPy forward pass of the forecasting LSTM, read straight from the ``model.keras`` artifact.

Why this exists: the service must answer without TensorFlow. The usual path (Keras loaded in the
request handler) costs ~700 MB of resident memory and ~230 ms per request, while the network
itself is a few thousand multiply-adds: a tiny LSTM forward pass in NumPy takes microseconds.
The ``model.keras`` zip written by training stays the single source of truth: the architecture
comes from its ``config.json``, the weights from its ``model.weights.h5``; nothing is exported.

Only what the forecaster needs is implemented (InputLayer, stacked LSTM, Dense, Dropout as the
inference no-op it is). Anything else is refused at load time rather than silently mis-computed.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Config = Mapping[str, Any]


class ModelFormatError(ValueError):
    """The file is not a readable Keras 3 ``.keras`` artifact (missing, corrupt, incomplete)."""


class UnsupportedModelError(ModelFormatError):
    """The artifact is readable but uses a layer or option this engine does not implement."""


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
_H5_PREFIX = {"LSTM": "lstm", "Dense": "dense", "Dropout": "dropout", "InputLayer": "input_layer"}
# Rows per forward pass: bounds the (time, rows, 4 * units) scratch arrays and keeps them cached.
_CHUNK = 1024


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


@dataclass(frozen=True, eq=False)
class Network:
    """A loaded forecaster (LSTM stack, then Dense head), evaluated in float64."""

    look_back: int | None  # None: the model accepts windows of any length
    n_features: int
    layers: tuple[Layer, ...]

    def summary(self) -> list[dict[str, Any]]:
        """One plain, JSON-ready dict per computed layer (Dropout is a no-op and not listed)."""
        keys = ("name", "kind", "units", "activation", "recurrent_activation", "return_sequences")
        return [{key: getattr(layer, key) for key in keys} for layer in self.layers]

    def predict(self, x: npt.ArrayLike) -> Array:
        """(batch, time, features) windows -> (batch, outputs), computed in chunks of rows."""
        x = np.asarray(x, dtype=np.float64)
        length_ok = x.ndim == 3 and x.shape[1] > 0 and self.look_back in (None, x.shape[1])
        if not length_ok or x.shape[2] != self.n_features:
            expected = f"(batch, {self.look_back or 'time'}, {self.n_features})"
            raise ValueError(f"expected windows of shape {expected}, got {x.shape}")
        outs = []
        for start in range(0, max(len(x), 1), _CHUNK):
            h = x[start : start + _CHUNK].transpose(1, 0, 2)  # time-major: steps are contiguous
            for layer in self.layers:
                h = layer.run(h)
            outs.append(h)
        return outs[0] if len(outs) == 1 else np.concatenate(outs)


def load_network(path: Path) -> Network:
    """Build a :class:`Network` from a Keras 3 ``.keras`` zip, without importing Keras."""
    config, weights = _read_archive(Path(path))
    try:
        # keras.Sequential(...).save() writes a "Sequential" config (checked with Keras 3.15).
        if (kind := config.get("class_name")) != "Sequential":
            raise UnsupportedModelError(f"model of type {kind} is not supported (only Sequential)")
        layer_cfgs = list(config["config"]["layers"])
        groups = _h5_groups(layer_cfgs)
        todo = [(cfg, group) for cfg, group in zip(layer_cfgs, groups, strict=True) if _check(cfg)]
        # (batch, time, features): Keras 3 writes an InputLayer for every built Sequential.
        inputs = [
            list(c["config"]["batch_shape"]) for c in layer_cfgs if c["class_name"] == "InputLayer"
        ]
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ModelFormatError(f"{path}: malformed config.json ({exc!r})") from exc
    try:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            layers = [_build(cfg, group, h5) for cfg, group in todo]
    except (OSError, KeyError) as exc:
        raise ModelFormatError(f"{path}: unreadable model.weights.h5 ({exc})") from exc
    return _network(layers, inputs)


def _read_archive(path: Path) -> tuple[Config, bytes]:
    """Return (config.json, model.weights.h5 bytes); every failure becomes ModelFormatError."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if missing := sorted({"config.json", "model.weights.h5"} - names):
                raise ModelFormatError(f"{path}: not a Keras model archive (no {missing[0]})")
            config = json.loads(zf.read("config.json"))
            meta = json.loads(zf.read("metadata.json")) if "metadata.json" in names else {}
            weights = zf.read("model.weights.h5")
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        raise ModelFormatError(f"{path}: cannot read model archive ({exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: invalid JSON in model archive ({exc})") from exc
    version = str(meta.get("keras_version", "3")) if isinstance(meta, dict) else "?"
    if version.split(".")[0] != "3" or not isinstance(config, dict):
        raise UnsupportedModelError(f"{path}: not a Keras 3 model (keras_version {version})")
    return config, weights


def _check(cfg: Config) -> bool:
    """Refuse what this engine does not implement; True if the layer has weights to compute."""
    kind, body = cfg["class_name"], cfg["config"]
    where = f"layer {body.get('name', '?')!r} of type {kind}"
    if kind not in _H5_PREFIX:
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


def _h5_groups(layer_cfgs: list[Config]) -> list[str]:
    """Mirror Keras' saving_lib: ``layers/<snake_case class>``, then ``_1``, ``_2``... by class.

    Keras ignores layer names here on purpose (they are auto-generated, e.g. ``lstm_7``)."""
    seen: dict[str, int] = {}
    groups = []
    for cfg in layer_cfgs:
        base = _H5_PREFIX.get(cfg["class_name"], "?")
        seen[base] = seen.get(base, -1) + 1
        groups.append(f"layers/{base}" + (f"_{seen[base]}" if seen[base] else ""))
    return groups


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


def _build(cfg: Config, group: str, h5: h5py.File) -> Layer:
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


def _network(layers: list[Layer], inputs: list[list[Any]]) -> Network:
    """Enforce "LSTM (returning sequences but the last), then Dense" and chained widths."""
    n_lstm = sum(layer.kind == "LSTM" for layer in layers)
    found = [layer.kind + ("(seq)" if layer.return_sequences else "") for layer in layers]
    wanted = ["LSTM(seq)"] * (n_lstm - 1) + ["LSTM"] + ["Dense"] * (len(layers) - n_lstm)
    if n_lstm == 0 or found != wanted:
        raise UnsupportedModelError(
            f"layer stack {found} is not supported: expected LSTM layers"
            " (return_sequences=True on all but the last), then Dense layers"
        )
    n_features = layers[0].kernel.shape[0]
    if [len(shape) == 3 and shape[2] in (None, n_features) for shape in inputs] != [True]:
        raise ModelFormatError(f"want one input of shape (batch, time, {n_features}), got {inputs}")
    widths = [n_features] + [layer.units for layer in layers[:-1]]
    if any(layer.kernel.shape[0] != w for layer, w in zip(layers, widths, strict=True)):
        raise ModelFormatError("layer weight shapes do not chain together")
    return Network(inputs[0][1], n_features, tuple(layers))


def _ro(a: Array) -> Array:
    """Mark read-only: one Network is shared by all requests and must never change."""
    a.flags.writeable = False
    return a

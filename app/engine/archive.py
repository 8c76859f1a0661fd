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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from app.engine.errors import ModelFormatError, UnsupportedModelError
from app.engine.layers import H5_PREFIX, Layer, build, check
from app.engine.network import Network

Array = npt.NDArray[np.float64]
Config = Mapping[str, Any]


def load_network(path: Path) -> Network:
    """Build a :class:`Network` from a Keras 3 ``.keras`` zip, without importing Keras."""
    config, weights = _read_archive(Path(path))
    try:
        # keras.Sequential(...).save() writes a "Sequential" config (checked with Keras 3.15).
        if (kind := config.get("class_name")) != "Sequential":
            raise UnsupportedModelError(f"model of type {kind} is not supported (only Sequential)")
        layer_cfgs = list(config["config"]["layers"])
        groups = _h5_groups(layer_cfgs)
        todo = [(cfg, group) for cfg, group in zip(layer_cfgs, groups, strict=True) if check(cfg)]
        # (batch, time, features): Keras 3 writes an InputLayer for every built Sequential.
        inputs = [
            list(c["config"]["batch_shape"]) for c in layer_cfgs if c["class_name"] == "InputLayer"
        ]
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ModelFormatError(f"{path}: malformed config.json ({exc!r})") from exc
    try:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            layers = [build(cfg, group, h5) for cfg, group in todo]
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


def _h5_groups(layer_cfgs: list[Config]) -> list[str]:
    """Mirror Keras' saving_lib: ``layers/<snake_case class>``, then ``_1``, ``_2``... by class.

    Keras ignores layer names here on purpose (they are auto-generated, e.g. ``lstm_7``)."""
    seen: dict[str, int] = {}
    groups = []
    for cfg in layer_cfgs:
        base = H5_PREFIX.get(cfg["class_name"], "?")
        seen[base] = seen.get(base, -1) + 1
        groups.append(f"layers/{base}" + (f"_{seen[base]}" if seen[base] else ""))
    return groups


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

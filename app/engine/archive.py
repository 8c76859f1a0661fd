"""Reading a ``model.keras`` archive into the NumPy engine's `Network`: config, weights, checks.

Why the engine exists: the service must answer without TensorFlow. The usual path (Keras
loaded in the request handler) costs ~700 MB of resident memory and ~230 ms per request,
while the network itself is a few thousand multiply-adds: a tiny LSTM forward pass in NumPy
takes microseconds. The ``model.keras`` zip written by training stays the single source of
truth: the architecture comes from its ``config.json``, the weights from its
``model.weights.h5``; nothing is exported.

The layer kinds it computes are `app.engine.layers.LAYERS`; this module reads the archive,
finds each layer's weights by Keras' naming rule and checks that the stack fits together.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from app.engine.errors import ModelFormatError, UnsupportedModelError
from app.engine.layers import LAYERS, PASSTHROUGH, Layer, WeightReader
from app.engine.network import Network

Config = Mapping[str, Any]


def load_network(data: bytes, where: str) -> Network:
    """Build a one-member :class:`Network` from a Keras 3 ``.keras`` zip's bytes, without Keras.

    Bytes, not a path: the caller has hashed exactly these. `where` names them in errors.
    """
    config, weights = _read_archive(data, where)
    try:
        # keras.Sequential(...).save() writes a "Sequential" config (checked with Keras 3.15).
        if (kind := config.get("class_name")) != "Sequential":
            raise UnsupportedModelError(f"model of type {kind} is not supported (only Sequential)")
        layer_cfgs = list(config["config"]["layers"])
        for cfg in layer_cfgs:
            _require_known(cfg)
        groups = _h5_groups(layer_cfgs)
        todo = [
            (c, g) for c, g in zip(layer_cfgs, groups, strict=True) if c["class_name"] in LAYERS
        ]
        # (batch, time, features): Keras 3 writes an InputLayer for every built Sequential.
        inputs = [
            list(c["config"]["batch_shape"]) for c in layer_cfgs if c["class_name"] == "InputLayer"
        ]
        with h5py.File(io.BytesIO(weights), "r") as h5:
            layers = [
                LAYERS[cfg["class_name"]].from_keras(cfg["config"], _reader(h5, group, cfg))
                for cfg, group in todo
            ]
    except (OSError, KeyError) as exc:
        raise ModelFormatError(f"{where}: unreadable model.weights.h5 ({exc})") from exc
    except (TypeError, AttributeError, IndexError) as exc:
        raise ModelFormatError(f"{where}: malformed config.json ({exc!r})") from exc
    return _network(layers, inputs)


def _require_known(cfg: Config) -> None:
    kind = cfg["class_name"]
    if kind not in LAYERS and kind not in PASSTHROUGH:
        name = cfg["config"].get("name", "?")
        supported = ", ".join([*LAYERS, *sorted(PASSTHROUGH - {"InputLayer"})])
        raise UnsupportedModelError(
            f"layer {name!r} of type {kind} is not supported (supported: {supported})"
        )


def _read_archive(data: bytes, where: str) -> tuple[Config, bytes]:
    """Return (config.json, model.weights.h5 bytes); every failure becomes ModelFormatError."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if missing := sorted({"config.json", "model.weights.h5"} - names):
                raise ModelFormatError(f"{where}: not a Keras model archive (no {missing[0]})")
            config = json.loads(zf.read("config.json"))
            meta = json.loads(zf.read("metadata.json")) if "metadata.json" in names else {}
            weights = zf.read("model.weights.h5")
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        raise ModelFormatError(f"{where}: cannot read model archive ({exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{where}: invalid JSON in model archive ({exc})") from exc
    version = str(meta.get("keras_version", "3")) if isinstance(meta, dict) else "?"
    if version.split(".")[0] != "3" or not isinstance(config, dict):
        raise UnsupportedModelError(f"{where}: not a Keras 3 model (keras_version {version})")
    return config, weights


def _h5_groups(layer_cfgs: list[Config]) -> list[str]:
    """Mirror Keras' saving_lib: ``layers/<snake_case class>``, then ``_1``, ``_2``... by class.

    Keras ignores layer names here on purpose (they are auto-generated, e.g. ``lstm_7``)."""
    seen: dict[str, int] = {}
    groups = []
    for cfg in layer_cfgs:
        base = _snake_case(cfg["class_name"])
        seen[base] = seen.get(base, -1) + 1
        groups.append(f"layers/{base}" + (f"_{seen[base]}" if seen[base] else ""))
    return groups


def _snake_case(name: str) -> str:
    """Keras' `to_snake_case`: `InputLayer` -> `input_layer`, `LSTM` -> `lstm`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _reader(h5: h5py.File, group: str, cfg: Config) -> WeightReader:
    """Read ``<group>/<var_path>/0..count-1`` as float64, checking owner, count and finiteness."""
    name = cfg["config"]["name"]

    def read(var_path: str, count: int) -> list[npt.NDArray[np.float64]]:
        saved_name = h5[f"{group}/vars"].attrs.get("name", name)
        if saved_name != name:
            raise ModelFormatError(f"weights in {group} belong to {saved_name!r}, not {name!r}")
        path = f"{group}/{var_path}"
        found = set(h5[path].keys())
        if found != {str(i) for i in range(count)}:
            raise ModelFormatError(f"{path}: expected {count} weight arrays, found {sorted(found)}")
        arrays = [np.array(h5[f"{path}/{i}"], dtype=np.float64) for i in range(count)]
        if not all(np.isfinite(a).all() for a in arrays):
            raise ModelFormatError(f"{path}: weights contain NaN or infinity")
        return arrays

    return read


def _network(layers: Sequence[Layer], inputs: list[list[Any]]) -> Network:
    """Enforce "recurrent layers (returning sequences but the last), then dense" and widths."""
    n_rec = sum(layer.recurrent for layer in layers)
    found = [layer.keras_class + ("(seq)" if layer.return_sequences else "") for layer in layers]
    recurrent_first = [layer.recurrent for layer in layers] == sorted(
        (layer.recurrent for layer in layers), reverse=True
    )
    sequences = [layer.return_sequences for layer in layers] == [True] * (n_rec - 1) + [False] * (
        len(layers) - n_rec + 1
    )
    if n_rec == 0 or not (recurrent_first and sequences):
        raise UnsupportedModelError(
            f"layer stack {found} is not supported: expected LSTM layers"
            " (return_sequences=True on all but the last), then Dense layers"
        )
    n_features = layers[0].inputs
    if [len(shape) == 3 and shape[2] in (None, n_features) for shape in inputs] != [True]:
        raise ModelFormatError(f"want one input of shape (batch, time, {n_features}), got {inputs}")
    widths = [n_features] + [layer.units for layer in layers[:-1]]
    if any(layer.inputs != w for layer, w in zip(layers, widths, strict=True)):
        raise ModelFormatError("layer weight shapes do not chain together")
    return Network(inputs[0][1], n_features, tuple(layers))

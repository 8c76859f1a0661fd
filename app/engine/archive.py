"""Reading a ``model.keras`` archive into the NumPy engine's `Network`: config, weights, checks.

Why the engine exists: the service must answer without TensorFlow. The usual path (Keras
loaded in the request handler) costs hundreds of megabytes of resident memory and
hundreds of milliseconds per request (BENCHMARKS.md), while the network itself is a few
thousand multiply-adds: a tiny LSTM forward pass in NumPy takes microseconds. The
``model.keras`` zip written by training stays the single source of truth: the
architecture comes from its ``config.json``, the weights from its ``model.weights.h5``;
nothing is exported.

The layer kinds it computes are `app.engine.layers.LAYERS`; this module reads the archive,
finds each layer's weights by Keras' naming rule and checks that the stack fits together.
The archive never decides how much is read: its entries are bounded before they are
inflated (`app.engine.keras_zip`), and each weight array's shape is checked against what
the config implies, within `MAX_PARAMETERS`, before its data is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from app.engine import hdf5
from app.engine.errors import ModelFormatError, UnsupportedModelError
from app.engine.keras_zip import read_archive
from app.engine.layers import LAYERS, PASSTHROUGH, Layer, Shape, WeightReader
from app.engine.network import Network

Config = Mapping[str, Any]

MAX_PARAMETERS = 1_000_000
"""Most weights one network may declare (the committed default has 4,385): checked on the
config's shapes before any weight is read, so a config saying `units: 10**9` costs nothing."""


def load_network(data: bytes, where: str) -> Network:
    """Build a one-member :class:`Network` from a Keras 3 ``.keras`` zip's bytes, without Keras.

    Bytes, not a path: the caller has hashed exactly these. `where` names them in errors.
    """
    config, weights = read_archive(data, where)
    try:
        # keras.Sequential(...).save() writes a "Sequential" config (checked with Keras 3.15).
        if (kind := config.get("class_name")) != "Sequential":
            raise UnsupportedModelError(f"model of type {kind} is not supported (only Sequential)")
        layer_cfgs = list(config["config"]["layers"])
        for cfg in layer_cfgs:
            _require_known(cfg)
        look_back, features = _input_shape(layer_cfgs)
        todo = [
            (c, g)
            for c, g in zip(layer_cfgs, _h5_groups(layer_cfgs), strict=True)
            if c["class_name"] in LAYERS
        ]
        widths = _widths(todo, features, where)
        h5 = hdf5.File(weights).root
        layers = [
            LAYERS[cfg["class_name"]].from_keras(cfg["config"], width, _reader(h5, group, cfg))
            for (cfg, group), width in zip(todo, widths, strict=True)
        ]
    except (hdf5.HDF5Error, KeyError) as exc:
        raise ModelFormatError(f"{where}: unreadable model.weights.h5 ({exc})") from exc
    except (TypeError, AttributeError, IndexError) as exc:
        raise ModelFormatError(f"{where}: malformed config.json ({exc!r})") from exc
    return _network(layers, look_back)


def _require_known(cfg: Config) -> None:
    kind = cfg["class_name"]
    if kind not in LAYERS and kind not in PASSTHROUGH:
        name = cfg["config"].get("name", "?")
        supported = ", ".join([*LAYERS, *sorted(PASSTHROUGH - {"InputLayer"})])
        raise UnsupportedModelError(
            f"layer {name!r} of type {kind} is not supported (supported: {supported})"
        )


def _input_shape(layer_cfgs: list[Config]) -> tuple[int | None, int]:
    """(time steps or None, features) of the one input: Keras 3 writes an InputLayer for every
    built Sequential, with its `batch_shape` (batch, time, features)."""
    inputs = [c["config"]["batch_shape"] for c in layer_cfgs if c["class_name"] == "InputLayer"]
    shape = list(inputs[0]) if len(inputs) == 1 else []
    time_ok = len(shape) == 3 and (shape[1] is None or _count(shape[1]))
    if not (time_ok and _count(shape[2])):
        raise ModelFormatError(f"want one input of shape (batch, time, features), got {inputs}")
    return shape[1], shape[2]


def _count(value: object) -> bool:
    return type(value) is int and value >= 1


def _widths(todo: list[tuple[Config, str]], features: int, where: str) -> list[int]:
    """Each layer's input width (the one before's units), with the network's size bounded.

    Every layer's weight shapes follow from the config; their total is checked
    against `MAX_PARAMETERS` here, before the weights file is even opened.
    """
    widths, width, total = [], features, 0
    for cfg, _ in todo:
        widths.append(width)
        shapes = LAYERS[cfg["class_name"]].weight_shapes(cfg["config"], width)
        total += sum(math.prod(shape) for shape in shapes)
        width = cfg["config"]["units"]
    if total > MAX_PARAMETERS:
        raise ModelFormatError(
            f"{where}: the config declares {total:,} weights; a network may have at most"
            f" {MAX_PARAMETERS:,}"
        )
    return widths


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


def _reader(h5: hdf5.Group, group: str, cfg: Config) -> WeightReader:
    """Read ``<group>/<var_path>/0..n-1`` as float64, checking owner, count, shapes, finiteness."""
    name = cfg["config"]["name"]

    def read(var_path: str, shapes: list[Shape]) -> list[npt.NDArray[np.float64]]:
        saved_name = _group(h5, f"{group}/vars").attribute("name") or name
        if saved_name != name:
            raise ModelFormatError(f"weights in {group} belong to {saved_name!r}, not {name!r}")
        path = f"{group}/{var_path}"
        found = set(_group(h5, path).names())
        if found != {str(i) for i in range(len(shapes))}:
            raise ModelFormatError(
                f"{path}: expected {len(shapes)} weight arrays, found {sorted(found)}"
            )
        arrays = [_weights(h5, f"{path}/{i}", shape) for i, shape in enumerate(shapes)]
        if not all(np.isfinite(a).all() for a in arrays):
            raise ModelFormatError(f"{path}: weights contain NaN or infinity")
        return arrays

    return read


def _node(h5: hdf5.Group, path: str) -> hdf5.Group | hdf5.Dataset:
    """The object at `path`, through hard links only (`hdf5` refuses the others: a soft or
    external link could name any object or file, outside the bytes that were hashed)."""
    node: hdf5.Group | hdf5.Dataset | None = h5
    for part in path.split("/"):
        node = node.get(part) if isinstance(node, hdf5.Group) else None
        if node is None:
            raise KeyError(f"no {path}")
    assert node is not None
    return node


def _group(h5: hdf5.Group, path: str) -> hdf5.Group:
    node = _node(h5, path)
    if not isinstance(node, hdf5.Group):
        raise ModelFormatError(f"{path}: not a group")
    return node


def _weights(h5: hdf5.Group, path: str, shape: Shape) -> npt.NDArray[np.float64]:
    """One weight array, read only once its shape, type and storage are what the config says.

    The shape check comes first: a 15000 x 15000 dataset stored as a few bytes
    would be 900 MB once read.
    """
    dataset = _node(h5, path)
    if not isinstance(dataset, hdf5.Dataset):
        raise ModelFormatError(f"{path}: not a weight array")
    if dataset.shape != shape:
        raise ModelFormatError(
            f"weight shapes do not match: {path} is {dataset.shape}, the config says {shape}"
        )
    return dataset.read().astype(np.float64)


def _network(layers: Sequence[Layer], look_back: int | None) -> Network:
    """Enforce "recurrent layers (returning sequences but the last), then dense".

    Widths chain by construction: each layer's kernel was read with the shape the
    layer before it implies (`_widths`).
    """
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
    return Network(look_back, layers[0].inputs, tuple(layers))

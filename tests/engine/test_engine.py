"""Tests for app.engine: the NumPy forward pass must match Keras and refuse what it can't run.

Parity is checked against the real thing: small Keras models are built, saved as ``.keras`` and
compared window by window with ``model.predict`` and ``model(x)``. Keras is needed only here,
never by the engine itself (the subprocess test proves the engine runs without it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from liveserver import ROOT

from app.engine.archive import load_network as load_bytes
from app.engine.errors import ModelFormatError, UnsupportedModelError
from app.engine.network import stack

# Keras 3.15 + NumPy 2.4 noise from inside Keras' tensor conversion, not from this project.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")

TOLERANCE = 1e-5  # max abs difference allowed, in model output units
N_WINDOWS = 2500  # >= 1000 windows and more than two of the engine's 1024-row chunks
CONFIG, WEIGHTS = "config.json", "model.weights.h5"
NO_LAYERS = b'{"class_name": "Sequential", "config": 3}'


def load_network(path: Path) -> Any:
    """The engine reads bytes (the store hashed exactly those); the tests start from files."""
    return load_bytes(path.read_bytes(), str(path))


@pytest.fixture(scope="module")
def keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return pytest.importorskip("keras")


def _save(
    keras: Any, path: Path, input_shape: tuple[int | None, int], layers: list[Any], seed: int = 7
) -> Any:
    """Build, randomise (biases included, so gate order matters everywhere) and save a model."""
    model = keras.Sequential([keras.Input(shape=input_shape), *layers])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in model.weights])
    model.save(path)
    return model


@pytest.fixture(scope="module")
def models(keras: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Path]]:
    """The three parity models, built once per module (Keras model building is slow)."""
    folder = tmp_path_factory.mktemp("models")
    layers = keras.layers
    specs: dict[str, tuple[tuple[int | None, int], Callable[[], list[Any]]]] = {
        "tiny": ((1, 1), lambda: [layers.LSTM(4), layers.Dense(1)]),
        "stacked": (
            (12, 1),
            lambda: [
                layers.LSTM(16, return_sequences=True),
                layers.LSTM(8),
                layers.Dense(8, activation="relu"),
                layers.Dense(1),
            ],
        ),
        "exotic": (  # look_back None, non-default activations, no biases, dropout at inference
            (None, 1),
            lambda: [
                layers.LSTM(
                    6,
                    activation="relu",
                    recurrent_activation="hard_sigmoid",
                    return_sequences=True,
                    dropout=0.2,
                    recurrent_dropout=0.1,
                ),
                layers.Dropout(0.3),
                layers.LSTM(5, activation="sigmoid", recurrent_activation="tanh", use_bias=False),
                layers.Dense(3, activation="tanh", use_bias=False),
                layers.Dense(2, activation="sigmoid"),
            ],
        ),
    }
    built = {}
    for name, (shape, make) in specs.items():
        keras.utils.set_random_seed(42)
        path = folder / f"{name}.keras"
        built[name] = (_save(keras, path, shape, make()), path)
    return built


@pytest.mark.parametrize(
    ("name", "length"), [("tiny", 1), ("stacked", 12), ("exotic", 1), ("exotic", 9)]
)
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_matches_keras(
    models: dict[str, tuple[Any, Path]],
    name: str,
    length: int,
    compiled: bool,
    record_property: Callable[[str, object], None],
) -> None:
    """Both engines: the compiled kernel (`tiny` and `stacked`'s LSTMs, the default
    activations) and the NumPy reference (every layer)."""
    model, path = models[name]
    net = load_network(path)
    x = np.random.default_rng(length).normal(0.0, 1.5, (N_WINDOWS, length, 1)).astype("float32")
    on_kernel = [getattr(layer, "kernel_weights", None) is not None for layer in net.layers]
    assert any(on_kernel) == (name != "exotic")

    ours = net.predict(x, compiled)[0]
    via_predict = model.predict(x, batch_size=512, verbose=0)
    via_call = np.asarray(model(x))

    assert ours.shape == via_predict.shape == (N_WINDOWS, net.outputs)
    diff = max(np.abs(ours - via_predict).max(), np.abs(ours - via_call).max())
    record_property("max_abs_diff", float(diff))  # ~1e-7 observed: Keras' own float32 rounding
    assert diff < TOLERANCE
    if net.outputs == 1:  # what forecasts are made with: for `tiny`, the kernel's one call
        assert np.abs(net.mean(x, compiled) - via_predict[:, 0]).max() < TOLERANCE


def test_architecture_is_read_from_config(models: dict[str, tuple[Any, Path]]) -> None:
    net = load_network(models["stacked"][1])
    assert (net.look_back, net.n_features) == (12, 1)
    rows = [(r.keras_class, r.units, _activation(r), r.return_sequences) for r in net.layers]
    assert rows == [
        ("LSTM", 16, "tanh", True),
        ("LSTM", 8, "tanh", False),
        ("Dense", 8, "relu", False),
        ("Dense", 1, "linear", False),
    ]
    exotic = load_network(models["exotic"][1])
    assert exotic.look_back is None
    assert [layer.keras_class for layer in exotic.layers] == ["LSTM", "LSTM", "Dense", "Dense"]
    assert net.members == exotic.members == 1


def _activation(layer: Any) -> str:
    return str(getattr(layer, "activation", None) or layer.activations[0])


def test_predict_checks_shapes_and_handles_edge_batches(
    models: dict[str, tuple[Any, Path]],
) -> None:
    net = load_network(models["stacked"][1])
    for bad in (np.zeros((2, 11, 1)), np.zeros((2, 12, 2)), np.zeros((12, 1))):
        with pytest.raises(ValueError, match=r"expected windows of shape \(batch, 12, 1\)"):
            net.predict(bad)
    assert net.predict(np.zeros((0, 12, 1))).shape == (1, 0, 1)
    windows = np.random.default_rng(3).normal(size=(5, 12, 1))
    one_by_one = np.concatenate([net.predict(w[None]) for w in windows], axis=1)
    np.testing.assert_allclose(net.predict(windows), one_by_one, rtol=0, atol=1e-6)  # float32
    assert not net.layers[0].kernel.flags.writeable  # shared across requests: read-only


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda L: [L.GRU(4, name="my_gru"), L.Dense(1)], "layer 'my_gru' of type GRU"),
        (lambda L: [L.Conv1D(2, 3, name="conv"), L.Flatten(), L.Dense(1)], "'conv' of type Conv1D"),
        (lambda L: [L.Bidirectional(L.LSTM(3), name="bi"), L.Dense(1)], "'bi' of type Bidir"),
        (lambda L: [L.LSTM(3, go_backwards=True), L.Dense(1)], "go_backwards=True"),
        (lambda L: [L.LSTM(3, activation="elu"), L.Dense(1)], "activation='elu'"),
        (lambda L: [L.LSTM(3), L.Dense(1, activation="softmax")], "activation='softmax'"),
        (lambda L: [L.LSTM(3, return_sequences=True), L.Dense(1)], "layer stack"),
    ],
)
def test_refuses_unsupported_models(
    keras: Any, tmp_path: Path, make: Callable[[Any], list[Any]], match: str
) -> None:
    path = tmp_path / "model.keras"
    _save(keras, path, (6, 1), make(keras.layers))
    with pytest.raises(UnsupportedModelError, match=match):
        load_network(path)


def test_refuses_functional_models(keras: Any, tmp_path: Path) -> None:
    inputs = keras.Input(shape=(4, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(2)(inputs)))
    model.save(tmp_path / "functional.keras")
    with pytest.raises(UnsupportedModelError, match="Functional"):
        load_network(tmp_path / "functional.keras")


def _rewrite(source: Path, target: Path, changes: dict[str, bytes | None]) -> Path:
    """Copy a .keras zip, replacing (bytes) or dropping (None) the named entries."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = changes.get(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)
    return target


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        (lambda src, dst: dst.write_bytes(b"definitely not a zip"), "cannot read"),
        (lambda src, dst: dst.write_bytes(src.read_bytes()[: src.stat().st_size // 2]), "cannot"),
        (lambda src, dst: _rewrite(src, dst, {WEIGHTS: None}), "no model.weights.h5"),
        (lambda src, dst: _rewrite(src, dst, {CONFIG: None}), "no config.json"),
        (lambda src, dst: _rewrite(src, dst, {CONFIG: b"{not json"}), "invalid JSON"),
        (lambda src, dst: _rewrite(src, dst, {CONFIG: NO_LAYERS}), "malformed"),
        (lambda src, dst: _rewrite(src, dst, {WEIGHTS: b"\x89HDF junk"}), "unreadable"),
    ],
)
def test_rejects_broken_files(
    models: dict[str, tuple[Any, Path]],
    tmp_path: Path,
    corrupt: Callable[[Path, Path], object],
    match: str,
) -> None:
    broken = tmp_path / "broken.keras"
    corrupt(models["tiny"][1], broken)
    with pytest.raises(ModelFormatError, match=match):
        load_network(broken)


def test_rejects_weights_of_another_model(
    models: dict[str, tuple[Any, Path]], tmp_path: Path
) -> None:
    """Weights from a different architecture must not be half-loaded into this one."""
    with zipfile.ZipFile(models["stacked"][1]) as source:
        stacked_h5 = source.read(WEIGHTS)
    swapped = _rewrite(models["exotic"][1], tmp_path / "swapped.keras", {WEIGHTS: stacked_h5})
    with pytest.raises(ModelFormatError, match=r"belong to|do not match"):
        load_network(swapped)


def test_engine_runs_without_tensorflow_or_keras(models: dict[str, tuple[Any, Path]]) -> None:
    """The service's whole point: predicting must not import TensorFlow or Keras."""
    child = textwrap.dedent(
        """
        import sys
        import numpy as np
        from pathlib import Path
        from app.engine.archive import load_network
        net = load_network(Path(sys.argv[1]).read_bytes(), sys.argv[1])
        assert net.predict(np.zeros((3, 12, 1))).shape == (1, 3, 1)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        assert not loaded, loaded
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", child, str(models["stacked"][1])],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_stacked_members_each_compute_their_own_network(keras: Any, tmp_path: Path) -> None:
    """An ensemble runs as one pass; member m of the pass equals network m run alone."""
    paths = []
    for seed in range(3):
        paths.append(tmp_path / f"member-{seed}.keras")
        layers = keras.layers
        stack_layers = [layers.LSTM(6, return_sequences=True), layers.LSTM(4), layers.Dense(1)]
        _save(keras, paths[-1], (9, 1), stack_layers, seed=seed)
    alone = [load_network(path) for path in paths]
    together = stack(alone)
    x = np.random.default_rng(0).normal(size=(1500, 9, 1))
    out = together.predict(x)
    assert together.members == 3 and out.shape == (3, 1500, 1)
    for m, network in enumerate(alone):
        np.testing.assert_allclose(out[m], network.predict(x)[0], rtol=0, atol=1e-6)
    assert np.ptp(out[:, 0, 0]) > 1e-3  # the members really differ


def test_members_of_different_shapes_do_not_stack(models: dict[str, tuple[Any, Path]]) -> None:
    with pytest.raises(ModelFormatError, match="ensemble members"):
        stack([load_network(models["tiny"][1]), load_network(models["stacked"][1])])

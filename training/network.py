"""Build the Keras forecaster: stacked LSTM layers then a one-unit Dense head.

Only layers and options that `app.engine` evaluates in NumPy are used (LSTM with
its default activations, Dense), so every model trained here can be served
without TensorFlow. TensorFlow/Keras are imported inside the functions: importing
this module must stay cheap (the CLI parses and validates arguments first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.contract.manifest import Architecture, LayerInfo

if TYPE_CHECKING:
    import keras


def build_model(look_back: int, units: tuple[int, ...], learning_rate: float) -> keras.Model:
    """A compiled Sequential model mapping (batch, look_back, 1) windows to (batch, 1)."""
    import keras

    layers: list[Any] = [keras.Input((look_back, 1))]
    for i, width in enumerate(units):
        layers.append(keras.layers.LSTM(width, return_sequences=i < len(units) - 1))
    layers.append(keras.layers.Dense(1))
    return _compiled(keras.Sequential(layers), learning_rate)


def build_ensemble(
    look_back: int, units: tuple[int, ...], learning_rate: float, members: int
) -> keras.Model:
    """`members` independent networks side by side, trained by one `fit`: (batch, members) out.

    The branches share only their input, so each learns as if alone (the summed
    loss separates into one term per branch), but one `fit` pays TensorFlow's
    per-step overhead once for all of them. `export_members` turns each branch
    into the Sequential model `build_model` would have made.
    """
    import keras

    inputs = keras.Input((look_back, 1))
    outputs = []
    for m in range(members):
        h = inputs
        for i, width in enumerate(units):
            h = keras.layers.LSTM(width, return_sequences=i < len(units) - 1, name=f"m{m}_lstm{i}")(
                h
            )
        outputs.append(keras.layers.Dense(1, name=f"m{m}_dense")(h))
    joined = keras.layers.Concatenate(name="members")(outputs) if members > 1 else outputs[0]
    return _compiled(keras.Model(inputs, joined), learning_rate)


def _compiled(model: keras.Model, learning_rate: float) -> keras.Model:
    """MSE on scaled targets, as in the post, with Adam. No XLA: Keras turns it off anyway
    under TensorFlow's op determinism, which a fixed seed needs to fix the weights."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="mean_squared_error",
        jit_compile=False,
    )
    return model


def export_members(
    ensemble: keras.Model, look_back: int, units: tuple[int, ...], members: int
) -> list[keras.Model]:
    """Each branch of `build_ensemble` as its own Sequential model, weights copied exactly."""
    exported = []
    for m in range(members):
        single = build_model(look_back, units, learning_rate=1e-3)
        names = [f"m{m}_lstm{i}" for i in range(len(units))] + [f"m{m}_dense"]
        weights = [w for name in names for w in ensemble.get_layer(name).get_weights()]
        single.set_weights(weights)
        exported.append(single)
    return exported


def describe(model: keras.Model, members: int = 1) -> Architecture:
    """The manifest's architecture summary, read from the built model itself (one member)."""
    layers = [
        LayerInfo(
            kind=type(layer).__name__,
            units=int(layer.units),
            activation=layer.activation.__name__,
            return_sequences=bool(getattr(layer, "return_sequences", False)),
        )
        for layer in model.layers
    ]
    return Architecture(layers=layers, parameters=int(model.count_params()), members=members)

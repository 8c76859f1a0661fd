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
    model = keras.Sequential(layers)
    # MSE on scaled targets, as in the post. XLA is off: on this tiny graph its
    # compile time outweighs any speed-up and it adds another numerics path.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="mean_squared_error",
        jit_compile=False,
    )
    return model


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

"""A loaded forecaster network: its layers run in order over a batch of windows, in NumPy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.engine.layers import Layer

Array = npt.NDArray[np.float64]
Config = Mapping[str, Any]

# Rows per forward pass: bounds the (time, rows, 4 * units) scratch arrays and keeps them cached.
_CHUNK = 1024


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

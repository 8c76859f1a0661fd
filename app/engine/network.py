"""A loaded network: its layers run in order over a batch of windows, for every member at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from app.engine import compiled, layers
from app.engine.errors import ModelFormatError
from app.engine.layers import LSTM, PRECISION, Dense, Layer

Array = npt.NDArray[np.float64]

PARITY = 1e-4
"""The engine's promise: every member's output within this of Keras', in the network's output
units (and a combined forecast within this times the scaler's inverse scale, at least this, in
series units). Training refuses to publish a version that breaks it; the parity tests hold it."""

# Rows per forward pass: bounds the scratch arrays, (time, members, units + inputs + 1, rows).
# On the committed default, 1,000 series take 3.2 ms in chunks of 512 and 3.5 ms of 256.
_CHUNK = 512


@dataclass(frozen=True, eq=False)
class Network:
    """Recurrent layers, then dense ones, evaluated for every ensemble member at once.

    A single trained model is a network of one member; `stack` joins members of
    the same architecture so they run as one pass.
    """

    look_back: int | None  # None: the model accepts windows of any length
    n_features: int
    layers: tuple[Layer, ...]

    @property
    def members(self) -> int:
        return self.layers[0].members

    @property
    def outputs(self) -> int:
        return self.layers[-1].units

    def predict(self, x: npt.ArrayLike, compiled: bool = True) -> Array:
        """(batch, time, features) windows -> (members, batch, outputs), in chunks of rows.

        Computed in the weights' precision (`layers.PRECISION`); returned as float64, which
        the pipeline works in. `compiled=False` keeps to the NumPy reference (`layers.KERNEL`).
        """
        x = self._windows(x)
        outs = []
        for start in range(0, max(len(x), 1), _CHUNK):
            # Time-major, with a member axis of 1 that the first layer broadcasts.
            h = x[start : start + _CHUNK].transpose(1, 0, 2)[:, np.newaxis]
            for layer in self.layers:
                h = layer.run(h, compiled)
            outs.append(h)
        out = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=1)
        return out.astype(np.float64)

    def mean(self, x: npt.ArrayLike, compiled: bool = True) -> npt.NDArray[np.float64]:
        """(batch, time, features) windows -> (batch,): the members' mean of a one-output
        network, what a forecast is made with.

        An LSTM layer then a linear Dense(1), the default recipe's network and the seed
        post's, runs in one call of the compiled kernel (`compiled.MemberMean`): one
        window's forecast step then costs the kernel's arithmetic and a few microseconds,
        where `predict`'s layer by layer arrays and the mean cost as much again. Any
        other network, or `compiled=False`, takes `predict` and averages its members.
        """
        if self.outputs != 1:
            raise ValueError(f"the mean is of a one-output network; this one has {self.outputs}")
        if compiled and self.member_mean is not None:
            return self.member_mean(self._windows(x))
        outputs = self.predict(x, compiled)
        # The sum over members divided by their count: np.mean's numbers, without its wrapper.
        return outputs.sum(axis=0)[:, 0] / len(outputs)

    def _windows(self, x: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The windows in the weights' precision, refused unless (batch, look_back, features)."""
        x = np.asarray(x, dtype=PRECISION)
        length_ok = x.ndim == 3 and x.shape[1] > 0 and self.look_back in (None, x.shape[1])
        if not length_ok or x.shape[2] != self.n_features:
            expected = f"(batch, {self.look_back or 'time'}, {self.n_features})"
            raise ValueError(f"expected windows of shape {expected}, got {x.shape}")
        return x

    @cached_property
    def member_mean(self) -> compiled.MemberMean | None:
        """The kernel's one call for an LSTM layer on it, then a linear Dense(1), which also
        runs a forecast's whole recursion (`MemberMean.recurse`); else None. It takes the
        windows as they are: `mean` checks their shape first."""
        if len(self.layers) != 2 or layers.KERNEL is None:
            return None
        lstm, dense = self.layers
        if not isinstance(lstm, LSTM) or lstm.kernel_weights is None or lstm.return_sequences:
            return None
        if not isinstance(dense, Dense) or dense.activation != "linear" or dense.units != 1:
            return None
        head = np.concatenate([dense.kernel[:, :, 0], dense.bias[:, 0, :]], axis=1)
        return compiled.MemberMean(layers.KERNEL, lstm.kernel_weights, head)


def stack(networks: Sequence[Network]) -> Network:
    """One network computing every member of an ensemble (same architecture) in one pass."""
    first = networks[0]
    if any(
        (n.look_back, n.n_features, len(n.layers))
        != (first.look_back, first.n_features, len(first.layers))
        for n in networks
    ):
        raise ModelFormatError("ensemble members have different input shapes or depths")
    layers = tuple(
        type(group[0]).stack(group) for group in zip(*(n.layers for n in networks), strict=True)
    )
    return Network(first.look_back, first.n_features, layers)

"""The compiled LSTM kernel (`kernel.c`), when the install could build it, opened with ctypes.

The install builds it next to this file (`setup.py`, optional: without a C compiler the
install goes on). `app.engine.layers` uses it for LSTM layers with Keras' default
activations, and `app.engine.network` for such a layer with a Dense(1) head (`MemberMean`),
which also runs a forecast's whole recursion in one call (`MemberMean.recurse`), once it
has given the NumPy engine's numbers on random layers and the recursion's definition's
(`layers.checked`), so a stale or miscompiled library can cost speed, never a wrong
forecast. Without it, or after a failed check, the NumPy engine serves, and
`layers.ENGINE` says why.

A long call lets go of the GIL (`RELEASE_GIL_FROM`), so the event loop and other threads
run meanwhile; a short one keeps it. A thread that let go of the GIL a few microseconds
at a time, tens of thousands of times (one window per step of a long recursion), would
win it back before the event loop could and starve it: `/metrics` went unanswered for
10 s beside three such forecasts.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ABI = 3  # kernel.c's KERNEL_ABI: the calling convention this module speaks
_NAME = "_kernel"
RELEASE_GIL_FROM = 12_000
"""Window-steps (windows x members x time steps) from which a call lets go of the GIL: about
1 ms of work, 400 windows of the default network (five members over six steps: 30 each)."""

Floats = npt.NDArray[np.float32]


class Kernel:
    """`lstm_forward` of one loaded library: the shapes it takes and the call."""

    def __init__(self, path: Path) -> None:
        """Open the library twice over: as a `PyDLL` (calls keep the GIL) and a `CDLL`
        (calls let go of it); the dynamic loader maps it once."""
        self.path = path
        holding, releasing = ctypes.PyDLL(str(path)), ctypes.CDLL(str(path))
        if (abi := int(holding.lstm_kernel_abi())) != ABI:
            raise OSError(f"it speaks ABI {abi}, this engine {ABI}: reinstall to rebuild it")
        self.max_units = int(holding.lstm_max_units())
        self.max_inputs = int(holding.lstm_max_inputs())
        self.block = int(holding.lstm_column_block())
        self._holding, self._releasing = holding.lstm_forward, releasing.lstm_forward
        for forward in (self._holding, self._releasing):
            forward.restype = ctypes.c_int
            forward.argtypes = [ctypes.c_void_p] * 5 + [ctypes.c_int] * 7 + [ctypes.c_long] * 3
        self._recursions = holding.lstm_recursion, releasing.lstm_recursion
        for recursion in self._recursions:
            recursion.restype = ctypes.c_int
            recursion.argtypes = [
                *[ctypes.c_void_p] * 2, *[ctypes.c_int] * 3, ctypes.c_void_p, ctypes.c_long,
                *[ctypes.c_int] * 4, ctypes.c_void_p, ctypes.c_double, ctypes.c_void_p,
                ctypes.c_int, ctypes.c_double,
            ]  # fmt: skip

    def supports(self, units: int, inputs: int) -> bool:
        """Whether the kernel's buffers fit a layer of this size."""
        return 0 < units <= self.max_units and 0 < inputs <= self.max_inputs

    def layout(self, by_gate: npt.NDArray[np.floating[Any]]) -> Floats:
        """(members, 4, units, units + inputs + 1) step weights as the kernel reads them:
        (members, units + inputs + 1, columns), zeros after the 4 units gate columns up to
        a whole number of the kernel's blocks of columns."""
        members, _, units, width = by_gate.shape
        columns = -(-4 * units // self.block) * self.block
        out = np.zeros((members, width, columns), np.float32)
        out[:, :, : 4 * units] = by_gate.transpose(0, 3, 1, 2).reshape(members, width, -1)
        return out

    def call(self, long: bool) -> Any:
        """`lstm_forward`: for a long call, the binding that lets go of the GIL."""
        return self._releasing if long else self._holding

    def recursion(self, long: bool) -> Any:
        """`lstm_recursion`: for a long call, the binding that lets go of the GIL."""
        return self._recursions[long]

    def forward(self, weights: Floats, x: Floats, sequences: bool) -> Floats:
        """One LSTM layer over (time, members or 1, batch, inputs) float32 input.

        `weights` is `layout`'s (`LSTM.kernel_weights`). Any
        strides whose last axis is contiguous are read in place: no copy of the input.
        Returns (time, members, batch, units) with `sequences`, else (members, batch, units).
        """
        members, width, columns = weights.shape
        x = np.asarray(x, dtype=np.float32)
        steps, given, batch, inputs = x.shape
        units = width - inputs - 1
        if given not in (1, members) or weights.dtype != np.float32:
            # What the kernel reads is sized from these: refused here, never read past.
            raise ValueError(f"input of {given} members for a layer of {members}")
        if x.strides[3] != x.itemsize or any(s % x.itemsize for s in x.strides):
            x = np.ascontiguousarray(x)
        step, member, row = (s // x.itemsize for s in x.strides[:3])
        if given == 1:
            member = 0  # one input for every member
        shape = (steps, members, batch, units) if sequences else (members, batch, units)
        out = np.empty(shape, np.float32)
        long = batch * members * steps >= RELEASE_GIL_FROM
        failed = self.call(long)(
            weights.ctypes.data, address(x), address(out), None, None,
            steps, members, batch, units, inputs, columns, int(sequences), step, member, row,
        )  # fmt: skip
        if failed:
            raise ValueError(f"the kernel refuses an LSTM of {units} units, {inputs} inputs")
        return out


class MemberMean:
    """An LSTM layer, then each member's Dense(1) linear head, averaged over the members, in
    one call of the kernel: what a one-output ensemble forecasts with.

    The weights' addresses are taken once, here: reading an array's address costs about a
    microsecond, and a whole one-window call about six. The NumPy engine's
    `Network.predict(x).mean(axis=0)` is the reference it is tested against.
    """

    def __init__(self, kernel: Kernel, weights: Floats, head: Floats) -> None:
        """`weights` as `Kernel.layout` gives them; `head` (members, units + 1): each member's
        Dense kernel, then its bias, float32."""
        members, width, columns = weights.shape
        units = head.shape[1] - 1 if head.ndim == 2 else 0
        if head.shape[0] != members or not 4 * units <= columns < 4 * units + kernel.block:
            raise ValueError(f"a head of shape {head.shape} for weights of {weights.shape}")
        self.weights, self.head = _contiguous(weights), _contiguous(head)
        self.units, self.inputs, self.columns = units, width - units - 1, columns
        self._kernel = kernel
        self._addresses = self.weights.ctypes.data, self.head.ctypes.data

    @property
    def members(self) -> int:
        return len(self.head)

    def __call__(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """(batch, time, inputs) windows -> (batch,) the members' mean output, float64."""
        x = np.asarray(x, dtype=np.float32)
        batch, steps, inputs = x.shape
        if inputs != self.inputs:
            raise ValueError(f"windows of {inputs} features for a layer of {self.inputs}")
        if x.strides[2] != x.itemsize or x.strides[0] % x.itemsize or x.strides[1] % x.itemsize:
            x = np.ascontiguousarray(x)
        row, step = x.strides[0] // x.itemsize, x.strides[1] // x.itemsize
        out = np.empty(batch)
        long = batch * self.members * steps >= RELEASE_GIL_FROM
        weights, head = self._addresses
        failed = self._kernel.call(long)(
            weights, address(x), None, head, address(out),
            steps, self.members, batch, self.units, inputs, self.columns, 0, step, 0, row,
        )  # fmt: skip
        if failed:
            raise ValueError(f"the kernel refuses an LSTM of {self.units} units, {inputs} inputs")
        return out

    def recurse(
        self,
        u: np.ndarray,
        first: int,
        look_back: int,
        scale: float | np.ndarray,
        offset: float,
        weight: float | np.ndarray,
        level: np.ndarray | None = None,
        level_weight: float = 0.0,
    ) -> None:
        """Fill u[:, first:] step by step from the values before (`Recursion`), in one call.

        u: (batch, n) float64, C-ordered and writeable; `scale` and `weight` one number, or
        one per row; `level`: (2, points), the level's weights over the last points (oldest
        first), then the same normalised, when `level_weight` is not 0. Everything the
        kernel reads is sized here from these shapes, so no call reads or writes past an
        array.
        """
        batch, n = u.shape
        if not (u.dtype == np.float64 and u.flags.c_contiguous and u.flags.writeable):
            raise ValueError("u must be a writeable C-ordered float64 matrix")
        points = 0
        if level_weight:
            if level is None or level.ndim != 2 or len(level) != 2:
                raise ValueError("a level needs (2, points) weights")
            level = np.ascontiguousarray(level, dtype=np.float64)
            points = level.shape[1]
        if self.inputs != 1 or not 0 < look_back <= first <= n or points > first:
            raise ValueError(f"no recursion of windows of {look_back} from column {first} of {n}")
        rows = np.empty(3 * batch + -(-batch * look_back // 2))  # kernel.c: lstm_recursion
        rows[:batch], rows[batch : 2 * batch] = scale, weight  # (a number fills its part)
        weights, head = self._addresses
        long = batch * self.members * look_back * (n - first) >= RELEASE_GIL_FROM
        failed = self._kernel.recursion(long)(
            weights, head, self.members, self.units, self.columns, address(u), n, first,
            n - first, batch, look_back, address(rows), offset,
            None if level is None else level.ctypes.data, points, level_weight,
        )  # fmt: skip
        if failed:
            raise ValueError(f"the kernel refuses a recursion of {self.units} units")


def address(array: np.ndarray) -> int:
    """Where an array's data starts: through the buffer protocol for a writeable one, in a
    fifth of `array.ctypes.data`'s microsecond, a share of a one-window call worth saving."""
    if array.size and array.flags.writeable and array.flags.c_contiguous:
        return ctypes.addressof(ctypes.c_char.from_buffer(array.data))
    return int(array.ctypes.data)


def _contiguous(array: Floats) -> Floats:
    """The array as read-only C-contiguous float32: itself when it is one already (the
    layers' frozen weights), else a copy; never the caller's array made read-only."""
    if array.dtype == np.float32 and array.flags.c_contiguous and not array.flags.writeable:
        return array
    out = np.array(array, dtype=np.float32, order="C")
    out.flags.writeable = False
    return out


def load(directory: Path = Path(__file__).parent) -> tuple[Kernel | None, str]:
    """The kernel built next to this module, or None and why there is none."""
    paths = [directory / (_NAME + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        return None, "not built (no C compiler at install time)"
    try:
        return Kernel(path), "compiled"
    except (OSError, AttributeError) as exc:
        return None, f"{path.name} does not load: {exc}"

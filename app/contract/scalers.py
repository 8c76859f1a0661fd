"""The scaler kinds, and reading their joblib pickles without scikit-learn, through an allowlist.

`SCALER_KINDS` is the one table of scalers the product knows: the name a
manifest records, the scikit-learn class training fits, and the arithmetic the
fitted scaler performs. A new kind is one row (and its affine function); the
allowlist, the manifest's check and training's choice all read the table.

The scaler file is the product's contract (training pickles the fitted
scikit-learn object with joblib), but the service needs only two numbers from
it. Importing scikit-learn to unpickle it would cost the serving process about
1.2 s of start-up and 110 MB of memory (it pulls in SciPy), so this module
follows the Python documentation's "restricting globals" recipe instead: the
unpickler resolves only the handful of names a fitted MinMaxScaler or
StandardScaler pickle contains, maps the two scaler classes to plain records,
and refuses everything else. Nothing allowed may allocate at the pickle's
say either: `numpy.ndarray` resolves as a class name that cannot be called,
arrays come only through joblib's placeholder once their dtype and shape are
checked small and numeric, and scalars only of plain number dtypes. It is
defence in depth: the file's sha256 is checked against the manifest before this
runs at all, and a matching hash proves only that the file is the one the
manifest names, not who wrote either.
"""

from __future__ import annotations

import io
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

from app.contract.pipeline import AffineScaler
from app.errors import ArtifactError

_SKLEARN_MODULE = "sklearn.preprocessing._data"


@dataclass(frozen=True)
class ScalerKind:
    """One kind of fitted scaler the product trains, pickles and serves."""

    name: str  # as the manifest's `pipeline.scaler` records it
    sklearn_class: str  # the class in `sklearn.preprocessing` that training fits
    affine: Callable[[Any], AffineScaler]  # fitted attributes -> the arithmetic, `x * a + b`


def _minmax(scaler: Any) -> AffineScaler:
    return AffineScaler(float(scaler.scale_[0]), float(scaler.min_[0]))  # x * scale_ + min_


def _standard(scaler: Any) -> AffineScaler:
    if not (scaler.with_mean and scaler.with_std):
        raise ValueError("a StandardScaler must centre and scale")
    scale = float(scaler.scale_[0])  # (x - mean_) / scale_
    return AffineScaler(1.0 / scale, -float(scaler.mean_[0]) / scale)


SCALER_KINDS: dict[str, ScalerKind] = {
    kind.name: kind
    for kind in (
        ScalerKind("minmax", "MinMaxScaler", _minmax),
        ScalerKind("standard", "StandardScaler", _standard),
    )
}
_BY_CLASS = {kind.sklearn_class: kind for kind in SCALER_KINDS.values()}


class ScalerError(ArtifactError):
    """A scaler that cannot be used: not one of the known kinds, not fitted, or degenerate."""


class ScalerRecord:
    """The pickled state of a scikit-learn scaler, as plain attributes; no behaviour."""

    kind: str

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _record_class(kind: str) -> type[ScalerRecord]:
    return type(kind, (ScalerRecord,), {"kind": kind})


MAX_ARRAY_ELEMENTS = 16
"""Most numbers one fitted array of a scaler file may hold. A fitted scaler keeps one number per
feature in each array (`scale_`, `min_`, `mean_`...); the service serves one-feature scalers, so
16 is generous, and small enough that no array is ever a reason to allocate. A wider scaler is
still read (and then refused by name, "exactly one feature") up to this size."""
_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floating point


class _ArrayClass:
    """Stands for `numpy.ndarray` in a scaler file, where it may only name an array's class.

    joblib's placeholder records the class of the array it stands for, so the
    name must resolve; calling it, as a pickle of `ndarray((200000000,), 'O')`
    does, would allocate whatever the pickle asks for before anything could
    check it. Arrays come only through `_CheckedArrayWrapper`.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> _ArrayClass:
        raise pickle.UnpicklingError("numpy.ndarray may not be called in a scaler file")


class _CheckedArrayWrapper(NumpyArrayWrapper):
    """joblib's array placeholder, read only once its dtype and shape are known to be small.

    joblib reads object arrays with plain pickle (which would bypass the
    allowlist) and allocates `shape` before reading the data that follows, so
    both are checked first: a plain numeric dtype, and one axis of at most
    `MAX_ARRAY_ELEMENTS`.
    """

    def read(self, unpickler: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        dtype, shape = getattr(self, "dtype", None), getattr(self, "shape", None)
        if not isinstance(dtype, np.dtype) or getattr(self, "subclass", None) is not _ArrayClass:
            raise pickle.UnpicklingError("malformed array in a scaler file")
        if dtype.hasobject:
            raise pickle.UnpicklingError("object arrays are not allowed in a scaler file")
        _require_number(dtype)
        if not (isinstance(shape, tuple) and _small(shape)):
            raise pickle.UnpicklingError(
                f"array of shape {_short(shape)} in a scaler file: a scaler's arrays have one"
                f" axis of at most {MAX_ARRAY_ELEMENTS} numbers"
            )
        self.subclass = np.ndarray
        return super().read(unpickler, *args, **kwargs)


def _small(shape: tuple[Any, ...]) -> bool:
    """One axis of at most `MAX_ARRAY_ELEMENTS`, as a fitted scaler's arrays are."""
    return len(shape) == 1 and type(shape[0]) is int and 0 <= shape[0] <= MAX_ARRAY_ELEMENTS


def _require_number(dtype: np.dtype) -> None:
    """Plain numbers of at most 8 bytes: no objects, strings, records or sub-arrays."""
    if dtype.kind not in _NUMERIC_KINDS or dtype.itemsize > 8:
        raise pickle.UnpicklingError(f"dtype {_short(dtype)} is not allowed in a scaler file")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(dtype: Any, *data: Any) -> Any:
    """`numpy._core.multiarray.scalar` for a plain number (e.g. `n_samples_seen_`), nothing more.

    Left unchecked it would make a scalar of any dtype, `S100000000` included,
    allocating its itemsize from a pickle of a few dozen bytes.
    """
    if not isinstance(dtype, np.dtype):
        raise pickle.UnpicklingError("malformed scalar in a scaler file")
    _require_number(dtype)
    if len(data) != 1 or not isinstance(data[0], bytes) or len(data[0]) != dtype.itemsize:
        raise pickle.UnpicklingError("malformed scalar in a scaler file")
    return np._core.multiarray.scalar(dtype, data[0])  # type: ignore[attr-defined]


_ALLOWED: dict[tuple[str, str], Any] = {
    **{(_SKLEARN_MODULE, name): _record_class(name) for name in _BY_CLASS},
    ("joblib.numpy_pickle", "NumpyArrayWrapper"): _CheckedArrayWrapper,
    ("numpy", "ndarray"): _ArrayClass,
    ("numpy", "dtype"): np.dtype,  # describes; allocates nothing (its uses are checked above)
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy.core.multiarray", "scalar"): _scalar,
}


class _AllowlistUnpickler(NumpyUnpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def load_scaler_record(data: bytes) -> ScalerRecord:
    """Unpickle the bytes of a scaler file written by `joblib.dump(scaler, path)` (uncompressed).

    Takes bytes, not a path: the caller hashed exactly these bytes.
    """
    # joblib's file name serves memory maps only, which stay off.
    record = _AllowlistUnpickler("", io.BytesIO(data), ensure_native_byte_order=True).load()
    if not isinstance(record, ScalerRecord):
        raise pickle.UnpicklingError(f"holds a {type(record).__name__}, not a scaler")
    return record


def affine_from_sklearn(scaler: Any, where: Path | str) -> AffineScaler:
    """The affine map of a fitted one-feature scaler of a kind in `SCALER_KINDS`.

    Works on the scikit-learn object itself (training) and on its unpickled
    record (serving), which carry the same class name and fitted attributes.
    """
    kind = _BY_CLASS.get(type(scaler).__name__)
    if kind is None:
        expected = " or ".join(_BY_CLASS)
        raise ScalerError(
            f"{where}: scaler is a {type(scaler).__name__}, expected a fitted {expected}"
        )
    if getattr(scaler, "n_features_in_", None) != 1:
        raise ScalerError(f"{where}: scaler must be fitted on exactly one feature")
    try:
        affine = kind.affine(scaler)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise ScalerError(f"{where}: scaler is not fitted as expected ({exc})") from None
    if not (math.isfinite(affine.scale) and math.isfinite(affine.offset) and affine.scale != 0):
        raise ScalerError(f"{where}: scaler parameters are not finite and non-zero")
    return affine

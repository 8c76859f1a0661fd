"""Files whose hashes match are still parsed within bounds: the scaler, the networks, the
calibration. (Their file types and sizes: `test_artifact_files.py`.)

Each hostile file is planted in a copy of a valid version with the manifest's
sha256 rewritten to match (`tests/hostile.py`), so only the reader's own bounds
stand between it and the service. Memory is measured with tracemalloc, which
sees NumPy's and Python's allocations: the bound (64 MB) is generous next to
what a refused file should cost (kilobytes) and far below what these files
cost a reader that trusts them (hundreds of MB to GB).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import hostile
import joblib
import numpy as np
import pytest
from sklearn.preprocessing import MinMaxScaler

from app.contract.store import ArtifactError, read_version

BOUND_MB = 64


# --- scaler.joblib: nothing in the pickle decides what is allocated ---------------------------


@pytest.mark.parametrize(
    "payload",
    [
        hostile.ndarray_pickle(50_000_000, "O"),  # 37 bytes -> 400 MB of object pointers
        hostile.scalar_pickle(200_000_000),  # a 200 MB bytes scalar
        hostile.wrapper_pickle(100_000_000),  # joblib allocates the claimed 800 MB, then reads
    ],
    ids=["ndarray-call", "scalar-of-huge-dtype", "wrapper-of-huge-shape"],
)
def test_a_scaler_pickle_cannot_make_the_reader_allocate(models_dir: Path, payload: bytes) -> None:
    version = models_dir / "toy" / "1"
    hostile.plant_scaler(version, payload)
    raised, peak = hostile.peak_mb(lambda: read_version(version))
    assert isinstance(raised, ArtifactError) and "cannot unpickle the scaler" in str(raised)
    assert peak < BOUND_MB, f"{peak:.0f} MB held before the scaler was refused"


class _ArraysByConstructor(pickle.Pickler):
    """Pickles each array as a direct `numpy.ndarray(shape, dtype, buffer)` call."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is np.ndarray:
            return np.ndarray, (obj.shape, obj.dtype.str, obj.tobytes())
        return NotImplemented


def test_arrays_come_only_through_joblibs_wrapper(models_dir: Path) -> None:
    """A scaler whose arrays call `numpy.ndarray` directly is refused, even a well-formed one."""
    buffer = io.BytesIO()
    _ArraysByConstructor(buffer, protocol=4).dump(MinMaxScaler().fit([[0.0], [10.0]]))
    version = models_dir / "toy" / "1"
    hostile.plant_scaler(version, buffer.getvalue())
    with pytest.raises(ArtifactError, match=r"numpy\.ndarray may not be called"):
        read_version(version)


def test_a_scaler_array_is_checked_small_before_it_is_read(models_dir: Path) -> None:
    version = models_dir / "toy" / "1"
    joblib.dump(MinMaxScaler().fit(np.arange(40.0).reshape(2, 20)), version / "scaler.joblib")
    hostile.rehash(version, "scaler.joblib")
    with pytest.raises(ArtifactError, match=r"one axis of at most 16 numbers"):
        read_version(version)

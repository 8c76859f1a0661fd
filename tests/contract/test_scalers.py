"""The allowlisted scaler unpickler: same numbers as scikit-learn, nothing else gets through."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import hostilekit
import joblib
import numpy as np
import pytest
import sklearn.preprocessing
from hypothesis import given, settings
from hypothesis import strategies as st
from liveserver import ROOT
from modelkit import OpensAFile
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from app.contract.scalers import SCALER_KINDS
from app.contract.store import ArtifactError, read_version
from app.contract.store import load_scaler as load_bytes


def load_scaler(path: Path, kind: str) -> Any:
    """The store unpickles bytes (it hashed exactly those); the tests start from files."""
    return load_bytes(path.read_bytes(), kind, path)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(SCALER_KINDS)),
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=50, unique=True),
)
def test_every_kind_matches_sklearn_transform(
    kind: str, values: list[float], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each row of the table: training's class, pickled, reads back as the same arithmetic."""
    path = tmp_path_factory.mktemp("scaler") / "scaler.joblib"
    column = np.array(values).reshape(-1, 1)
    fitted = getattr(sklearn.preprocessing, SCALER_KINDS[kind].sklearn_class)().fit(column)
    joblib.dump(fitted, path)
    affine = load_scaler(path, kind)
    expected = fitted.transform(column)[:, 0]
    np.testing.assert_allclose(affine.transform(column[:, 0]), expected, rtol=1e-9, atol=1e-9)


def test_refuses_other_globals_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "was-unpickled"
    path = tmp_path / "scaler.joblib"
    joblib.dump(OpensAFile(marker), path)
    with pytest.raises(ArtifactError, match="refusing to load"):
        load_scaler(path, "minmax")
    assert not marker.exists()


def test_refuses_object_arrays(tmp_path: Path) -> None:
    """joblib reads object arrays with plain pickle, which would bypass the allowlist."""
    marker = tmp_path / "was-unpickled"
    path = tmp_path / "scaler.joblib"
    scaler = MinMaxScaler().fit(np.arange(5.0).reshape(-1, 1))
    scaler.scale_ = np.array([OpensAFile(marker)], dtype=object)
    joblib.dump(scaler, path)
    with pytest.raises(ArtifactError, match="object arrays"):
        load_scaler(path, "minmax")
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [np.arange(3.0), RobustScaler().fit(np.arange(5.0).reshape(-1, 1))],
    ids=["array", "robust-scaler"],
)
def test_refuses_what_is_not_a_supported_scaler(tmp_path: Path, payload: object) -> None:
    path = tmp_path / "scaler.joblib"
    joblib.dump(payload, path)
    with pytest.raises(ArtifactError):
        load_scaler(path, "minmax")


def test_refuses_a_pickle_of_another_kind_than_the_manifest_says(tmp_path: Path) -> None:
    path = tmp_path / "scaler.joblib"
    joblib.dump(StandardScaler().fit(np.arange(10.0).reshape(-1, 1)), path)
    with pytest.raises(
        ArtifactError, match="holds a StandardScaler, but the manifest says 'minmax'"
    ):
        load_scaler(path, "minmax")


def test_refuses_two_feature_and_garbage_files(tmp_path: Path) -> None:
    two = tmp_path / "two.joblib"
    joblib.dump(MinMaxScaler().fit(np.ones((3, 2)) * [[1], [2], [3]]), two)
    with pytest.raises(ArtifactError, match="one feature"):
        load_scaler(two, "minmax")
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"\x80\x04not a pickle at all")
    with pytest.raises(ArtifactError, match="cannot unpickle"):
        load_scaler(garbage, "minmax")


def test_serving_never_imports_sklearn(tmp_path: Path) -> None:
    path = tmp_path / "scaler.joblib"
    joblib.dump(StandardScaler().fit(np.arange(10.0).reshape(-1, 1)), path)
    code = (
        "import sys; from pathlib import Path; from app.contract.store import load_scaler; "
        f"load_scaler(Path({str(path)!r}).read_bytes(), 'standard', 'scaler'); "
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- within bounds: nothing in the pickle decides what is allocated, even with its hash right


@pytest.mark.parametrize(
    "payload",
    [
        hostilekit.ndarray_pickle(50_000_000, "O"),  # 37 bytes -> 400 MB of object pointers
        hostilekit.scalar_pickle(200_000_000),  # a 200 MB bytes scalar
        hostilekit.wrapper_pickle(100_000_000),  # joblib allocates the claimed 800 MB, then reads
    ],
    ids=["ndarray-call", "scalar-of-huge-dtype", "wrapper-of-huge-shape"],
)
def test_a_scaler_pickle_cannot_make_the_reader_allocate(models_dir: Path, payload: bytes) -> None:
    version = models_dir / "toy" / "1"
    hostilekit.plant_scaler(version, payload)
    raised, peak = hostilekit.peak_mb(lambda: read_version(version))
    assert isinstance(raised, ArtifactError) and "cannot unpickle the scaler" in str(raised)
    assert peak < hostilekit.MEMORY_BOUND_MB, f"{peak:.0f} MB held before the scaler was refused"


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
    hostilekit.plant_scaler(version, buffer.getvalue())
    with pytest.raises(ArtifactError, match=r"numpy\.ndarray may not be called"):
        read_version(version)


def test_a_scaler_array_is_checked_small_before_it_is_read(models_dir: Path) -> None:
    version = models_dir / "toy" / "1"
    joblib.dump(MinMaxScaler().fit(np.arange(40.0).reshape(2, 20)), version / "scaler.joblib")
    hostilekit.rehash(version, "scaler.joblib")
    with pytest.raises(ArtifactError, match=r"one axis of at most 16 numbers"):
        read_version(version)

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
import json
import os
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostile
import joblib
import numpy as np
import pytest
from modelkit import clone_version
from sklearn.preprocessing import MinMaxScaler

from app.contract.store import ArtifactError, read_version
from app.engine.errors import ModelFormatError
from app.forecaster import load_forecaster
from app.registry import Registry, version_loader

BOUND_MB = 64


def refused(models_dir: Path, make_hostile: Callable[[Path], None]) -> str:
    """Plant version 2 of `toy`, made hostile; load the model; return why 2 was refused.

    Version 1 must still be served: a hostile version is refused, never fatal.
    """
    make_hostile(clone_version(models_dir / "toy", 1, 2))
    state = Registry(models_dir, version_loader(0.5)).load("toy")
    assert state.served is not None and state.served.version == 1
    return state.failures[2]


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


# --- model.keras: entry sizes and weight shapes checked before reading -----------------------


def test_a_weights_dataset_larger_than_the_config_says_is_never_read(models_dir: Path) -> None:
    """6000 x 6000 floats stored in a few KB (chunks never written): 288 MB if read."""
    hostile.hdf5_bomb(models_dir / "toy" / "1", side=6000)
    raised, peak = hostile.peak_mb(lambda: load_forecaster(models_dir / "toy" / "1"))
    assert isinstance(raised, ModelFormatError)
    assert "is (6000, 6000), the config says (1, 16)" in str(raised)
    assert peak < BOUND_MB, f"{peak:.0f} MB held before the weights were refused"


def test_a_config_declaring_huge_layers_costs_nothing(models_dir: Path) -> None:
    hostile.huge_units_without_bias(models_dir / "toy" / "1", units=100_000_000)
    raised, peak = hostile.peak_mb(lambda: load_forecaster(models_dir / "toy" / "1"))
    assert isinstance(raised, ModelFormatError)
    assert "a network may have at most 1,000,000" in str(raised)
    assert peak < BOUND_MB, f"{peak:.0f} MB held before the config was refused"


def test_a_zip_bomb_is_refused_before_it_inflates(models_dir: Path) -> None:
    hostile.zip_bomb(models_dir / "toy" / "1", mib=200)  # about 200 KB on disk
    assert (models_dir / "toy" / "1" / "model.keras").stat().st_size < 1 << 20
    raised, peak = hostile.peak_mb(lambda: load_forecaster(models_dir / "toy" / "1"))
    assert isinstance(raised, ModelFormatError)
    assert "model.weights.h5 inflates to more than 8,388,608 bytes" in str(raised)
    assert peak < BOUND_MB, f"{peak:.0f} MB held before the archive was refused"


@pytest.mark.parametrize("link", [True, False], ids=["external-link", "external-storage"])
def test_weights_stored_outside_the_archive_are_refused_unread(
    models_dir: Path, tmp_path: Path, link: bool
) -> None:
    """HDF5 can fetch an array from another file by name: here a FIFO, which blocks a read."""
    fifo = tmp_path / "weights.fifo"
    os.mkfifo(fifo)
    hostile.external_weights(models_dir / "toy" / "1", fifo, link)
    try:
        raised = hostile.within(10, lambda: load_forecaster(models_dir / "toy" / "1"))
    finally:
        hostile.release(fifo)
    assert isinstance(raised, ModelFormatError)
    assert re.search(
        r"vars/2: (is an HDF5 ExternalLink|weights must be .* stored inline)", str(raised)
    )


def test_a_zip_directory_of_thousands_of_entries_is_refused_before_it_is_parsed(
    models_dir: Path,
) -> None:
    """`zipfile` builds an object per entry on opening: the directory's size is bounded first."""
    version = models_dir / "toy" / "1"

    def pad(archive: Any) -> None:
        for i in range(5000):
            archive.writestr(f"padding/{i}", b"")

    hostile.rewrite_keras(version / "model.keras", "none", pad)
    hostile.rehash(version, "model.keras")
    with pytest.raises(ModelFormatError, match=r"zip directory of [\d,]+ bytes; at most 65,536"):
        load_forecaster(version)


# --- calibration.json: values the intervals can rely on ---------------------------------------


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (hostile.nan_residual, "residuals.0.58: Input should be a finite number"),
        (hostile.infinite_residual, "residuals.1.58: Input should be a finite number"),
        (hostile.negative_residual, "residuals.0.0: Input should be greater than or equal to 0"),
        (hostile.unsorted_residuals, "the residuals of step 3 are not sorted ascending"),
    ],
    ids=["nan", "infinity", "negative", "unsorted"],
)
def test_a_calibration_with_unusable_residuals_refuses_the_version(
    models_dir: Path, edit: Callable[[list[list[float]]], None], reason: str
) -> None:
    """Served, these made predict blame the client and evaluate answer null widths."""
    why = refused(models_dir, lambda d: hostile.calibration_residuals(d, edit))
    assert "calibration.json: invalid interval calibration" in why and reason in why


def test_a_calibration_must_match_the_manifests_counts(models_dir: Path) -> None:
    why = refused(models_dir, lambda d: hostile.calibration_residuals(d, lambda r: r[0].pop()))
    assert "calibration.json: does not match the manifest's `intervals`" in why


def test_a_calibration_with_too_many_values_is_refused_before_it_is_parsed(
    models_dir: Path,
) -> None:
    """Two million zeros are 6 MB of JSON and over 100 MB once parsed: counted first."""
    version = models_dir / "toy" / "1"
    calibration = json.loads((version / "calibration.json").read_text())
    calibration["residuals"][0] = [0] * 2_000_000
    (version / "calibration.json").write_text(json.dumps(calibration))
    hostile.rehash(version, "calibration.json")
    raised, peak = hostile.peak_mb(lambda: read_version(version))
    assert isinstance(raised, ArtifactError)
    assert re.search(r"2,000,\d{3} values; a calibration holds at most 250,000", str(raised))
    assert peak < BOUND_MB, f"{peak:.0f} MB held before the calibration was refused"

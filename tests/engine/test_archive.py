"""The weights are read within bounds: what the config declares is checked before any array is
read, and each array is checked against it before its data is. Each hostile `.keras` is
planted with its hash rewritten to match (`tests/hostilekit.py`); memory is measured with
tracemalloc (see `hostilekit.MEMORY_BOUND_MB`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import hostilekit
import pytest

from app.engine.errors import ModelFormatError
from app.forecaster import load_forecaster


def test_a_weights_dataset_larger_than_the_config_says_is_never_read(models_dir: Path) -> None:
    """6000 x 6000 floats stored in a few KB (chunks never written): 288 MB if read."""
    hostilekit.hdf5_bomb(models_dir / "toy" / "1", side=6000)
    raised, peak = hostilekit.peak_mb(lambda: load_forecaster(models_dir / "toy" / "1"))
    assert isinstance(raised, ModelFormatError)
    assert "is (6000, 6000), the config says (1, 16)" in str(raised)
    assert peak < hostilekit.MEMORY_BOUND_MB, f"{peak:.0f} MB held before the weights were refused"


def test_a_config_declaring_huge_layers_costs_nothing(models_dir: Path) -> None:
    hostilekit.huge_units_without_bias(models_dir / "toy" / "1", units=100_000_000)
    raised, peak = hostilekit.peak_mb(lambda: load_forecaster(models_dir / "toy" / "1"))
    assert isinstance(raised, ModelFormatError)
    assert "a network may have at most 1,000,000" in str(raised)
    assert peak < hostilekit.MEMORY_BOUND_MB, f"{peak:.0f} MB held before the config was refused"


@pytest.mark.parametrize("link", [True, False], ids=["external-link", "external-storage"])
def test_weights_stored_outside_the_archive_are_refused_unread(
    models_dir: Path, tmp_path: Path, link: bool
) -> None:
    """HDF5 can fetch an array from another file by name: here a FIFO, which blocks a read."""
    fifo = tmp_path / "weights.fifo"
    os.mkfifo(fifo)
    hostilekit.external_weights(models_dir / "toy" / "1", fifo, link)
    try:
        raised = hostilekit.within(10, lambda: load_forecaster(models_dir / "toy" / "1"))
    finally:
        hostilekit.release(fifo)
    assert isinstance(raised, ModelFormatError)
    assert re.search(
        r"vars(/2)?: (a new-style group \(link messages\)|external storage)", str(raised)
    )

"""The `.keras` zip is read within bounds: entries are refused before they inflate past their
cap, and the central directory before `zipfile` parses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hostilekit
import pytest

from app.engine.errors import ModelFormatError
from app.forecaster import load_forecaster


def test_a_zip_bomb_is_refused_before_it_inflates(models_dir: Path) -> None:
    hostilekit.zip_bomb(models_dir / "toy" / "1", mib=200)  # about 200 KB on disk
    assert (models_dir / "toy" / "1" / "model.keras").stat().st_size < 1 << 20
    raised, peak = hostilekit.peak_mb(lambda: load_forecaster(models_dir / "toy" / "1"))
    assert isinstance(raised, ModelFormatError)
    assert "model.weights.h5 inflates to more than 8,388,608 bytes" in str(raised)
    assert peak < hostilekit.MEMORY_BOUND_MB, f"{peak:.0f} MB held before the archive was refused"


def test_a_zip_directory_of_thousands_of_entries_is_refused_before_it_is_parsed(
    models_dir: Path,
) -> None:
    """`zipfile` builds an object per entry on opening: the directory's size is bounded first."""
    version = models_dir / "toy" / "1"

    def pad(archive: Any) -> None:
        for i in range(5000):
            archive.writestr(f"padding/{i}", b"")

    hostilekit.rewrite_keras(version / "model.keras", "none", pad)
    hostilekit.rehash(version, "model.keras")
    with pytest.raises(ModelFormatError, match=r"zip directory of [\d,]+ bytes; at most 65,536"):
        load_forecaster(version)

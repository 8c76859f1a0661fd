"""A version's files are read only if they are regular files of bounded size, and never by a read
that can block: a FIFO nobody writes to blocks its reader for ever, and a symlink to /dev/zero
never ends; either used to stop the thread that verifies versions. See `tests/hostilekit.py`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import hostilekit
import pytest

from app.contract.store import ArtifactError, read_version


@pytest.mark.parametrize("name", ["report.png", "scaler.joblib", "manifest.json"])
def test_a_fifo_is_refused_at_once(models_dir: Path, name: str) -> None:
    """Reading a FIFO nobody writes to blocks for ever; it is refused without being opened."""
    version = models_dir / "toy" / "1"
    hostilekit.fifo(version, name)
    try:
        raised = hostilekit.within(10, lambda: read_version(version))
    finally:
        hostilekit.release(version / name)
    assert isinstance(raised, ArtifactError) and f"{name}: is a FIFO" in str(raised)


def test_a_symlink_to_dev_zero_is_refused_at_once(models_dir: Path) -> None:
    version = models_dir / "toy" / "1"
    hostilekit.dev_zero(version, "report.png")
    raised = hostilekit.within(10, lambda: read_version(version))
    assert isinstance(raised, ArtifactError)
    assert "report.png: is a symbolic link" in str(raised)


def test_every_symlink_is_refused_even_to_a_file_beside_it(models_dir: Path) -> None:
    """One rule, no resolution to get wrong: training never writes links."""
    version = models_dir / "toy" / "1"
    os.rename(version / "report.png", version / "real.png")
    (version / "report.png").symlink_to("real.png")
    with pytest.raises(ArtifactError, match=r"report\.png: is a symbolic link"):
        read_version(version)


@pytest.mark.parametrize(
    ("name", "size", "limit"),
    [("report.png", 5 << 20, "4,194,304"), ("manifest.json", 300 << 10, "262,144")],
)
def test_a_file_larger_than_its_kind_allows_is_refused_unread(
    models_dir: Path, name: str, size: int, limit: str
) -> None:
    """Padding keeps each file valid (JSON ignores trailing spaces): only its size is wrong."""
    version = models_dir / "toy" / "1"
    with (version / name).open("ab") as handle:
        handle.write(b" " * (size - (version / name).stat().st_size))
    if name != "manifest.json":
        hostilekit.rehash(version, name)
    expected = rf"{re.escape(name)}: {size:,} bytes; .* at most {limit}"
    with pytest.raises(ArtifactError, match=expected):
        read_version(version)

"""A version's files are read once each, within bounds, and never by a read that can block.

A FIFO nobody writes to blocks its reader for ever, and a symlink to
/dev/zero never ends; either used to stop the thread that verifies versions.
The bytes hashed are the bytes parsed, so a file swapped after its hash was
checked goes unseen. See `tests/hostile.py` for how each file is planted.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostile
import joblib
import pytest
from sklearn.preprocessing import MinMaxScaler

from app.contract.store import ArtifactError, read_version
from app.registry import version_loader


@pytest.mark.parametrize("name", ["report.png", "scaler.joblib", "manifest.json"])
def test_a_fifo_is_refused_at_once(models_dir: Path, name: str) -> None:
    """Reading a FIFO nobody writes to blocks for ever; it is refused without being opened."""
    version = models_dir / "toy" / "1"
    hostile.fifo(version, name)
    try:
        raised = hostile.within(10, lambda: read_version(version))
    finally:
        hostile.release(version / name)
    assert isinstance(raised, ArtifactError) and f"{name}: is a FIFO" in str(raised)


def test_a_symlink_to_dev_zero_is_refused_at_once(models_dir: Path) -> None:
    version = models_dir / "toy" / "1"
    hostile.dev_zero(version, "report.png")
    raised = hostile.within(10, lambda: read_version(version))
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
        hostile.rehash(version, name)
    expected = rf"{re.escape(name)}: {size:,} bytes; .* at most {limit}"
    with pytest.raises(ArtifactError, match=expected):
        read_version(version)


# --- one read per file: the bytes hashed are the bytes parsed --------------------------------

_watched: set[str] = set()  # file names whose opens are counted, while a test watches
_opened: list[str] = []
_on_second_open: dict[str, Callable[[], None]] = {}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Counts opens of watched files (the interpreter's own "open" audit event, every API)."""
    if event != "open" or not _watched or not isinstance(args[0], str | os.PathLike):
        return
    name = os.path.basename(os.fsdecode(args[0]))
    if name in _watched:
        _opened.append(name)
        if _opened.count(name) == 2 and name in _on_second_open:
            _on_second_open.pop(name)()  # what an attacker would do between hash and parse


sys.addaudithook(_audit)


def test_each_file_is_opened_once_so_a_swap_after_hashing_is_never_parsed(
    models_dir: Path,
) -> None:
    """A loader that hashes a file, then reopens it to parse, parses whatever is there then."""
    version = models_dir / "toy" / "1"
    honest = read_version(version).scaler
    swapped = version.parent / "swapped.joblib"
    joblib.dump(MinMaxScaler().fit([[0.0], [1e6]]), swapped)
    _on_second_open["scaler.joblib"] = lambda: os.replace(swapped, version / "scaler.joblib")
    _opened.clear()
    _watched.update(path.name for path in version.iterdir())
    try:
        served = version_loader(0.5)(version)  # what the registry runs: verify, parse, serve
    finally:
        _watched.clear()
        _on_second_open.clear()
    assert sorted(_opened) == sorted(path.name for path in version.iterdir())
    assert served.forecaster.verified.scaler == honest
    assert served.report == (version / "report.png").read_bytes()

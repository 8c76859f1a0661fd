"""Reading a version verified: each file read once, so the bytes hashed are the bytes parsed,
and `calibration.json` checked like every other file (values and counts)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hostilekit
import joblib
import pytest
from modelkit import clone_version
from sklearn.preprocessing import MinMaxScaler

from app.contract.store import ArtifactError, read_version
from app.registry import Registry, version_loader

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


def refused(models_dir: Path, make_hostile: Callable[[Path], None]) -> str:
    """Plant version 2 of `toy`, made hostile; load the model; return why 2 was refused.

    Version 1 must still be served: a hostile version is refused, never fatal.
    """
    make_hostile(clone_version(models_dir / "toy", 1, 2))
    state = Registry(models_dir, version_loader(0.5)).load("toy")
    assert state.served is not None and state.served.version == 1
    return state.failures[2]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (hostilekit.nan_residual, "residuals.0.58: Input should be a finite number"),
        (hostilekit.infinite_residual, "residuals.1.58: Input should be a finite number"),
        (hostilekit.negative_residual, "residuals.0.0: Input should be greater than or equal to 0"),
        (hostilekit.unsorted_residuals, "the residuals of step 3 are not sorted ascending"),
    ],
    ids=["nan", "infinity", "negative", "unsorted"],
)
def test_a_calibration_with_unusable_residuals_refuses_the_version(
    models_dir: Path, edit: Callable[[list[list[float]]], None], reason: str
) -> None:
    """Served, these made predict blame the client and evaluate answer null widths."""
    why = refused(models_dir, lambda d: hostilekit.calibration_residuals(d, edit))
    assert "calibration.json: invalid interval calibration" in why and reason in why


def test_a_calibration_must_match_the_manifests_counts(models_dir: Path) -> None:
    why = refused(models_dir, lambda d: hostilekit.calibration_residuals(d, lambda r: r[0].pop()))
    assert "calibration.json: does not match the manifest's `intervals`" in why


def test_a_calibration_with_too_many_values_is_refused_before_it_is_parsed(
    models_dir: Path,
) -> None:
    """Two million zeros are 6 MB of JSON and over 100 MB once parsed: counted first."""
    version = models_dir / "toy" / "1"
    calibration = json.loads((version / "calibration.json").read_text())
    calibration["residuals"][0] = [0] * 2_000_000
    (version / "calibration.json").write_text(json.dumps(calibration))
    hostilekit.rehash(version, "calibration.json")
    raised, peak = hostilekit.peak_mb(lambda: read_version(version))
    assert isinstance(raised, ArtifactError)
    assert re.search(r"2,000,\d{3} values; a calibration holds at most 250,000", str(raised))
    assert peak < hostilekit.MEMORY_BOUND_MB, (
        f"{peak:.0f} MB held before the calibration was refused"
    )

"""Version directories: atomic, numbered like TensorFlow Serving's, readable by any server user."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from modelkit import clone_version, rewrite_manifest

from app.contract.store import ArtifactError, list_versions, read_manifest, read_version
from app.contract.writer import write_version


def test_versions_count_up_and_hidden_build_dirs_are_not_versions(models_dir: Path) -> None:
    model_dir = models_dir / "toy"
    (model_dir / ".building-abc").mkdir()
    (model_dir / "notes").mkdir()
    clone_version(model_dir, 1, 2)
    assert list_versions(model_dir) == [1, 2]


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    def build(directory: Path, version: int) -> dict[str, Any]:
        (directory / "model.keras").write_bytes(b"half a model")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_version(tmp_path, "broken", build)
    assert list((tmp_path / "broken").iterdir()) == []


def test_written_versions_are_world_readable(toy_models: Path) -> None:
    """A non-root server (the container's user) must read what training wrote as root."""
    version_dir = toy_models / "toy" / "1"
    assert stat.S_IMODE(version_dir.stat().st_mode) & 0o005 == 0o005
    for path in version_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o004, f"{path.name} is not world-readable"


def test_an_unknown_format_version_is_refused_by_name(models_dir: Path) -> None:
    version_dir = models_dir / "toy" / "1"
    rewrite_manifest(version_dir, format_version=8)
    with pytest.raises(
        ArtifactError,
        match=r"unknown manifest format version 8 \(this service reads 1, 2, 3, 4, 5, 6 and 7\)",
    ):
        read_version(version_dir)


def test_a_manifest_naming_a_file_outside_its_directory_is_refused(models_dir: Path) -> None:
    version_dir = models_dir / "toy" / "1"
    files = read_manifest(version_dir).files
    rewrite_manifest(version_dir, files={**files, "../escape": "0" * 64})
    with pytest.raises(ArtifactError, match="outside"):
        read_version(version_dir)

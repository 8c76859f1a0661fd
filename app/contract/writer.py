"""Writing a model version atomically: built in a hidden temporary directory, then renamed.

Training writes a version through `write_version` (built beside its final place,
then renamed, so a server never sees half a version). Every file it holds is
hashed into the manifest's `files`, which `app.contract.store` reads and checks
before serving them, all but the training data: serving never reads it, so the
manifest describes it on its own (`training_data`, with its sha256).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.contract.manifest import Manifest, TrainingData
from app.contract.store import MANIFEST_FILE, list_versions, sha256_file


def write_version(
    models_dir: Path,
    name: str,
    build: Callable[[Path, int], dict[str, Any]],
    verify: Callable[[Path], None] | None = None,
) -> Path:
    """Create the next version of `name` atomically and return its path.

    `build(tmp_dir, version)` writes the artifact files into `tmp_dir` and returns
    the manifest fields except `files`, which is filled here from the written files.
    `verify(tmp_dir)` then reads the complete directory back (hashes and manifest
    included) and raises if it must not be published. If either fails, nothing is
    left behind. If another writer takes the same version number first, the next
    free number is used.
    """
    model_dir = models_dir / name
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=model_dir))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the version from a non-root server
        version = (list_versions(model_dir) or [0])[-1] + 1
        fields = build(tmp, version)
        if verify is not None:
            _write_manifest(tmp, fields, version)
            verify(tmp)
        while True:
            _write_manifest(tmp, fields, version)
            target = model_dir / str(version)
            try:
                os.rename(tmp, target)  # atomic; fails if the target exists
            except OSError:
                if not target.exists():
                    raise
                version += 1
                continue
            _fsync_dir(model_dir)
            return target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_manifest(directory: Path, fields: dict[str, Any], version: int) -> None:
    data = fields.get("training_data")
    unread = {MANIFEST_FILE, *([TrainingData.model_validate(data).file] if data else [])}
    files = {
        p.name: sha256_file(p)
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name not in unread
    }
    manifest = Manifest.model_validate({**fields, "version": version, "files": files})
    write_text_atomic(directory / MANIFEST_FILE, manifest.model_dump_json(indent=2) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the file from other users
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The model directory format: `<models>/<name>/<version>/`, written atomically, read verified.

Training writes a version through `write_version` (built in a hidden temporary
directory beside its final place, then renamed, so a server never sees half a
version). Serving reads one through `read_version`, which checks every file's
sha256 against the manifest *before* the scaler is unpickled: a pickle is code,
and only a file the manifest vouches for may run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.manifest import FORMAT_VERSION, Manifest
from app.pipeline import AffineScaler
from app.scaler_pickle import SCALER_CLASSES, load_scaler_record

MODEL_FILE = "model.keras"
SCALER_FILE = "scaler.joblib"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.png"
REQUIRED_FILES = (MODEL_FILE, SCALER_FILE)


class ArtifactError(ValueError):
    """A version directory that must not be served; the message says why."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_versions(model_dir: Path) -> list[int]:
    """Version numbers present under a model's directory, oldest first.

    Only directories named by a positive integer count, so temporary build
    directories (hidden, non-numeric) are never mistaken for versions.
    """
    if not model_dir.is_dir():
        return []
    found = (p.name for p in model_dir.iterdir() if p.is_dir())
    return sorted(int(n) for n in found if n.isdigit() and int(n) > 0)


def write_version(
    models_dir: Path, name: str, build: Callable[[Path, int], dict[str, Any]]
) -> Path:
    """Create the next version of `name` atomically and return its path.

    `build(tmp_dir, version)` writes the artifact files into `tmp_dir` and returns
    the manifest fields except `files`, which is filled here from the written files.
    If `build` fails, nothing is left behind. If another writer takes the same
    version number first, the next free number is used.
    """
    model_dir = models_dir / name
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=model_dir))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the version from a non-root server
        version = (list_versions(model_dir) or [0])[-1] + 1
        fields = build(tmp, version)
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
    files = {
        p.name: sha256_file(p)
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST_FILE
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


def read_manifest(version_dir: Path) -> Manifest:
    """Parse and validate a version's manifest, refusing formats this code does not know."""
    path = version_dir / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{version_dir}: no {MANIFEST_FILE}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: unreadable manifest ({exc})") from None
    found = raw.get("format_version") if isinstance(raw, dict) else None
    if found != FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: unknown manifest format version {found!r}"
            f" (this service reads {FORMAT_VERSION})"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ArtifactError(f"{path}: invalid manifest ({problems})") from None


def verify_files(version_dir: Path, manifest: Manifest) -> None:
    """Check that every required file is listed and every listed file matches its sha256."""
    missing = [name for name in REQUIRED_FILES if name not in manifest.files]
    if missing:
        raise ArtifactError(f"{version_dir}: manifest lists no hash for {', '.join(missing)}")
    for name, expected in manifest.files.items():
        path = version_dir / name
        if Path(name).name != name:
            raise ArtifactError(f"{version_dir}: manifest names a file outside it: {name!r}")
        try:
            actual = sha256_file(path)
        except OSError as exc:
            raise ArtifactError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if actual != expected:
            raise ArtifactError(f"{path}: sha256 {actual[:12]}… does not match the manifest")


def load_scaler(path: Path) -> AffineScaler:
    """Unpickle a verified scaler file (allowlisted, without scikit-learn) into its arithmetic.

    Call only after `verify_files`: even a restricted unpickler should read only
    bytes the manifest vouches for.
    """
    try:
        record = load_scaler_record(path)
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise ArtifactError(f"{path}: cannot unpickle the scaler ({exc})") from None
    return affine_from_sklearn(record, path)


def affine_from_sklearn(scaler: Any, where: Path | str) -> AffineScaler:
    """The affine map of a fitted one-feature MinMaxScaler or StandardScaler.

    Works on the scikit-learn object itself (training) and on its unpickled
    record (serving), which carry the same class name and fitted attributes.
    """
    kind = type(scaler).__name__
    if kind not in SCALER_CLASSES:
        raise ArtifactError(
            f"{where}: scaler is a {kind}, expected a fitted MinMaxScaler or StandardScaler"
        )
    if getattr(scaler, "n_features_in_", None) != 1:
        raise ArtifactError(f"{where}: scaler must be fitted on exactly one feature")
    try:
        affine = _affine(scaler, kind)
    except (AttributeError, IndexError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{where}: scaler is not fitted as expected ({exc})") from None
    if not (math.isfinite(affine.scale) and math.isfinite(affine.offset) and affine.scale != 0):
        raise ArtifactError(f"{where}: scaler parameters are not finite and non-zero")
    return affine


def _affine(scaler: Any, kind: str) -> AffineScaler:
    if kind == "MinMaxScaler":  # x * scale_ + min_
        return AffineScaler(float(scaler.scale_[0]), float(scaler.min_[0]))
    if not (scaler.with_mean and scaler.with_std):
        raise ValueError("a StandardScaler must centre and scale")
    scale = float(scaler.scale_[0])  # StandardScaler: (x - mean_) / scale_
    return AffineScaler(1.0 / scale, -float(scaler.mean_[0]) / scale)


@dataclass(frozen=True)
class VerifiedVersion:
    """A version directory whose manifest parsed and whose files all match their hashes."""

    path: Path
    manifest: Manifest
    scaler: AffineScaler

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE


def read_version(version_dir: Path) -> VerifiedVersion:
    """Manifest, then hashes, then (and only then) the pickled scaler."""
    manifest = read_manifest(version_dir)
    verify_files(version_dir, manifest)
    return VerifiedVersion(version_dir, manifest, load_scaler(version_dir / SCALER_FILE))

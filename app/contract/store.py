"""The model directory format, read verified: `<models>/<name>/<version>/`.

Serving reads a version through `read_version`, which checks every file's
sha256 against the manifest *before* the scaler is unpickled: a pickle is code,
and only a file the manifest vouches for may run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from app.contract.intervals import Calibration
from app.contract.manifest import READABLE_FORMATS, Manifest
from app.contract.pipeline import AffineScaler
from app.contract.scalers import SCALER_KINDS, ScalerError, affine_from_sklearn, load_scaler_record
from app.errors import ArtifactError

MODEL_FILE = "model.keras"
SCALER_FILE = "scaler.joblib"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.png"


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
    if found not in READABLE_FORMATS:
        readable = " and ".join(map(str, READABLE_FORMATS))
        raise ArtifactError(
            f"{path}: unknown manifest format version {found!r} (this service reads {readable})"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ArtifactError(f"{path}: invalid manifest ({problems})") from None


def verify_files(version_dir: Path, manifest: Manifest) -> None:
    """Check that every file the version uses is listed and every listed file matches its sha256."""
    needed = [
        *manifest.networks,
        SCALER_FILE,
        *([manifest.calibration] if manifest.calibration else []),
    ]
    missing = [name for name in needed if name not in manifest.files]
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


def load_scaler(path: Path, kind: str) -> AffineScaler:
    """Unpickle a verified scaler file (allowlisted, without scikit-learn) into its arithmetic.

    Call only after `verify_files`: even a restricted unpickler should read only
    bytes the manifest vouches for. `kind` is the manifest's `pipeline.scaler`;
    a pickle of another kind is refused, since the manifest would then lie.
    """
    try:
        record = load_scaler_record(path)
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise ArtifactError(f"{path}: cannot unpickle the scaler ({exc})") from None
    try:
        affine = affine_from_sklearn(record, path)
    except ScalerError as exc:
        raise ArtifactError(str(exc)) from None
    if (found := type(record).__name__) != SCALER_KINDS[kind].sklearn_class:
        raise ArtifactError(f"{path}: holds a {found}, but the manifest says {kind!r}")
    return affine


@dataclass(frozen=True)
class VerifiedVersion:
    """A version directory whose manifest parsed and whose files all match their hashes."""

    path: Path
    manifest: Manifest
    scaler: AffineScaler
    calibration: Calibration | None  # None: the version serves no intervals

    @property
    def network_paths(self) -> list[Path]:
        """The ensemble members' `.keras` files, in the manifest's order."""
        return [self.path / name for name in self.manifest.networks]


def read_version(version_dir: Path) -> VerifiedVersion:
    """Manifest, then hashes, then (and only then) the pickled scaler and the calibration."""
    manifest = read_manifest(version_dir)
    verify_files(version_dir, manifest)
    scaler = load_scaler(version_dir / SCALER_FILE, manifest.pipeline.scaler)
    calibration = None
    if manifest.calibration is not None:
        calibration = read_calibration(version_dir / manifest.calibration, manifest)
    return VerifiedVersion(version_dir, manifest, scaler, calibration)


def read_calibration(path: Path, manifest: Manifest) -> Calibration:
    """The verified calibration file, parsed; its summary must match the manifest's."""
    try:
        calibration = Calibration.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise ArtifactError(f"{path}: unreadable interval calibration ({exc})") from None
    info = manifest.intervals
    if info is None or (info.horizon, info.space) != (calibration.horizon, calibration.space):
        raise ArtifactError(f"{path}: does not match the manifest's `intervals`")
    if any(not r for r in calibration.residuals):
        raise ArtifactError(f"{path}: a horizon step has no calibration residuals")
    return calibration


def network_file(member: int, members: int) -> str:
    """Member `member`'s file: `model.keras` for a single network, else `model-<k>.keras`."""
    return MODEL_FILE if members == 1 else f"model-{member}.keras"

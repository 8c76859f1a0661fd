"""The model directory format, read verified: `<models>/<name>/<version>/`.

Serving reads a version through `read_version`, which reads each file the
manifest lists once, into memory, checks those bytes' sha256 against the
manifest, and parses those same bytes, so a file swapped after its hash was
checked is never seen, and nothing is unpickled or parsed before every hash
matched: a pickle is code, and only a file the manifest vouches for may run.

A matching hash proves the file is the one the manifest names, not that it is
harmless: whoever can write the directory writes the manifest too. So reading
is bounded whatever the files say: `app.contract.files` reads only regular
files of bounded size, and each parser bounds what it builds from their bytes
(`app.contract.scalers`, `app.engine.archive`, `Calibration`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from app.contract.files import MissingFile, VersionDirectory
from app.contract.intervals import Calibration
from app.contract.manifest import READABLE_FORMATS, Manifest
from app.contract.pipeline import AffineScaler
from app.contract.scalers import SCALER_KINDS, ScalerError, affine_from_sklearn, load_scaler_record
from app.contract.series import SeriesFile, SeriesTable, read_histories
from app.errors import ArtifactError

MODEL_FILE = "model.keras"
SCALER_FILE = "scaler.joblib"
MANIFEST_FILE = "manifest.json"
REPORT_FILE = "report.png"


def sha256_file(path: Path) -> str:
    """The sha256 of a file training has just written (serving hashes the bytes it reads)."""
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
    """Parse and validate a version's manifest (its own size bounded), refusing unknown formats."""
    with VersionDirectory(version_dir) as directory:
        return _parse_manifest(directory)


def _parse_manifest(directory: VersionDirectory) -> Manifest:
    path = directory.path / MANIFEST_FILE
    try:
        raw = json.loads(directory.read(MANIFEST_FILE, "manifest"))
    except MissingFile:
        raise ArtifactError(f"{directory.path}: no {MANIFEST_FILE}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{path}: unreadable manifest ({exc})") from None
    found = raw.get("format_version") if isinstance(raw, dict) else None
    if found not in READABLE_FORMATS:
        *rest, last = map(str, READABLE_FORMATS)
        readable = f"{', '.join(rest)} and {last}" if rest else last
        raise ArtifactError(
            f"{path}: unknown manifest format version {found!r} (this service reads {readable})"
        )
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ArtifactError(f"{path}: invalid manifest ({_problems(exc)})") from None


def _problems(exc: ValidationError) -> str:
    """The first few of pydantic's complaints, each with where in the file it is."""
    found = [(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()[:5]]
    return "; ".join(f"{where}: {msg}" if where else msg for where, msg in found)


def _read_files(directory: VersionDirectory, manifest: Manifest) -> dict[str, bytes]:
    """Every file the manifest lists, read once, each matching its sha256; name -> bytes."""
    table = manifest.series
    needed = [
        *manifest.networks,
        SCALER_FILE,
        *([manifest.calibration] if manifest.calibration else []),
        *([table.file, table.histories] if table else []),
    ]
    missing = [name for name in needed if name not in manifest.files]
    if missing:
        raise ArtifactError(f"{directory.path}: manifest lists no hash for {', '.join(missing)}")
    files = {}
    for name, expected in manifest.files.items():
        data = directory.read(name, _kind(name, manifest))
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            path = directory.path / name
            raise ArtifactError(f"{path}: sha256 {actual[:12]}… does not match the manifest")
        files[name] = data
    return files


def _kind(name: str, manifest: Manifest) -> str:
    if name in manifest.networks:
        return "network"
    if name == manifest.calibration:
        return "calibration"
    if manifest.series is not None and name in (manifest.series.file, manifest.series.histories):
        return "series" if name == manifest.series.file else "histories"
    return "scaler" if name == SCALER_FILE else "other"


def load_scaler(data: bytes, kind: str, where: Path | str) -> AffineScaler:
    """Unpickle verified scaler bytes (allowlisted, without scikit-learn) into their arithmetic.

    Call only with bytes whose hash matched: even a restricted unpickler should
    read only what the manifest vouches for. `kind` is the manifest's
    `pipeline.scaler`; a pickle of another kind is refused, since the manifest
    would then lie. `where` names the file in errors.
    """
    try:
        record = load_scaler_record(data)
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise ArtifactError(f"{where}: cannot unpickle the scaler ({exc})") from None
    try:
        affine = affine_from_sklearn(record, where)
    except ScalerError as exc:
        raise ArtifactError(str(exc)) from None
    if (found := type(record).__name__) != SCALER_KINDS[kind].sklearn_class:
        raise ArtifactError(f"{where}: holds a {found}, but the manifest says {kind!r}")
    return affine


@dataclass(frozen=True)
class VerifiedVersion:
    """A version directory whose manifest parsed and whose files all matched their hashes.

    It holds what was parsed from the verified bytes, and the verified bytes still
    to be used (the networks, which the engine parses; the report, served as is):
    nothing is read again by path.
    """

    path: Path
    manifest: Manifest
    scaler: AffineScaler
    calibration: Calibration | None  # None: the version serves no intervals
    networks: tuple[bytes, ...] = field(repr=False)  # the members' `.keras` bytes, in order
    report: bytes | None = field(default=None, repr=False)  # report.png, if the version has one
    series: SeriesTable | None = field(default=None, repr=False)  # None before format 3


def read_version(version_dir: Path) -> VerifiedVersion:
    """Manifest, then every file read once and hashed, then (and only then) parse those bytes."""
    with VersionDirectory(version_dir) as directory:
        manifest = _parse_manifest(directory)
        files = _read_files(directory, manifest)
    scaler_path = version_dir / SCALER_FILE
    scaler = load_scaler(files[SCALER_FILE], manifest.pipeline.scaler, scaler_path)
    calibration = None
    if manifest.calibration is not None:
        where = version_dir / manifest.calibration
        calibration = read_calibration(files[manifest.calibration], manifest, where)
    networks = tuple(files[name] for name in manifest.networks)
    series = None if manifest.series is None else read_series(files, manifest, version_dir)
    return VerifiedVersion(
        version_dir, manifest, scaler, calibration, networks, files.get(REPORT_FILE), series
    )


def read_series(files: dict[str, bytes], manifest: Manifest, version_dir: Path) -> SeriesTable:
    """The verified series table: its columns, and histories that fit them and the pipeline.

    Every history row must hold at least the pipeline's `history_length` values, all
    finite, after its NaN padding: what a forecast by id reads is checked once, here.
    """
    info = manifest.series
    assert info is not None
    where = version_dir / info.file
    try:
        columns = SeriesFile.model_validate_json(files[info.file])
    except ValidationError as exc:
        raise ArtifactError(f"{where}: invalid series table ({_problems(exc)})") from None
    spec = manifest.pipeline.spec()
    if (len(columns.ids), info.width) != (info.count, spec.history_width):
        raise ArtifactError(
            f"{where}: {len(columns.ids)} series of width {info.width}; the manifest says"
            f" {info.count}, and the pipeline reads {spec.history_width} values"
        )
    try:
        histories = read_histories(files[info.histories], info.count, info.width)
    except ValueError as exc:
        raise ArtifactError(f"{version_dir / info.histories}: {exc}") from None
    known = ~np.isnan(histories)
    short = np.flatnonzero(known.sum(axis=1) < spec.history_length)
    if short.size or not np.isfinite(histories[known]).all():
        what = f"series {columns.ids[short[0]]!r} is too short" if short.size else "not finite"
        raise ArtifactError(f"{version_dir / info.histories}: {what}")
    return SeriesTable(columns, histories)


def read_calibration(data: bytes, manifest: Manifest, where: Path) -> Calibration:
    """Verified calibration bytes, parsed and checked; its summary must match the manifest's.

    `Calibration` refuses residuals that are not finite, negative or unsorted
    (a file is refused, never repaired: training writes them sorted), and more
    of them than its cap, counted before they are parsed.
    """
    try:
        calibration = Calibration.from_json(data)
    except ValidationError as exc:
        raise ArtifactError(f"{where}: invalid interval calibration ({_problems(exc)})") from None
    except ValueError as exc:
        raise ArtifactError(f"{where}: invalid interval calibration ({exc})") from None
    info = manifest.intervals
    summary = (calibration.horizon, calibration.space, [len(r) for r in calibration.residuals])
    if info is None or (info.horizon, info.space, info.residuals_per_step) != summary:
        raise ArtifactError(f"{where}: does not match the manifest's `intervals`")
    return calibration


def network_file(member: int, members: int) -> str:
    """Member `member`'s file: `model.keras` for a single network, else `model-<k>.keras`."""
    return MODEL_FILE if members == 1 else f"model-{member}.keras"

"""A version's training data: the exact series it was trained on, kept for `--from-store`.

Training writes `training-data.csv` into every version: the cleaned panel (what the
reader repaired, sorted and skipped already applied), in the long format the panel
reader takes with no options (`unique_id,ds,y`), periods as ISO labels, values
exactly (Python writes the shortest text that reads back as the same float). A
one-series version holds one id, the series' own. So a version is self-contained:
`--from-store` extends it with the ledger's observations, and `--data` trains on it
as on any catalog.

Serving never reads the file (a catalog's may be tens of MB): the manifest describes
it in `training_data`, not in `files`. Reading it back follows serving's rule all the
same: the bytes are read once (a regular file, bounded, through `app.contract.files`),
hashed, and parsed only when the hash is the manifest's.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
from pathlib import Path

from app.contract.files import VersionDirectory
from app.contract.manifest import Manifest, TrainingData
from app.errors import ArtifactError
from training.panel import LONG_HEADER, Panel, load_panel

TRAINING_DATA_FILE = "training-data.csv"


def training_data(panel: Panel) -> tuple[bytes, TrainingData]:
    """The panel as `training-data.csv`'s bytes, and the manifest's record of them."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(LONG_HEADER)
    for sid, labels in panel.iso_periods.items():
        writer.writerows(zip(itertools.repeat(sid), labels, panel.series[sid].values.tolist()))
    raw = text.getvalue().encode()
    rows = sum(len(s.values) for s in panel.series.values())
    digest = hashlib.sha256(raw).hexdigest()
    return raw, TrainingData(file=TRAINING_DATA_FILE, sha256=digest, rows=rows)


def read_training_data(version_dir: Path, manifest: Manifest) -> Panel:
    """The panel a version was trained on, from bytes whose sha256 is the manifest's.

    Its series carry the version's id column and value name (the file's header is the
    fixed `unique_id,ds,y`). Raises ArtifactError for a file that is missing, not
    regular, too large or not the one the manifest describes, `training.data.DataError`
    for one that does not parse; either is one line.
    """
    record = manifest.training_data
    if record is None:
        raise ArtifactError(f"{version_dir}: the manifest describes no training data")
    with VersionDirectory(version_dir) as directory:
        raw = directory.read(record.file, "training-data")
    path = version_dir / record.file
    actual = hashlib.sha256(raw).hexdigest()
    if actual != record.sha256:
        raise ArtifactError(f"{path}: sha256 {actual[:12]}… does not match the manifest; not read")
    id_column, date_column, value_column = LONG_HEADER
    panel = load_panel(
        path, id_column=id_column, date_column=date_column, value_column=value_column, raw=raw
    )
    value_name = manifest.data.value_name
    series = {
        sid: dataclasses.replace(s, value_name=value_name, period_name="period")
        for sid, s in panel.series.items()
    }
    return dataclasses.replace(panel, series=series, id_name=manifest.data.id_name or "")

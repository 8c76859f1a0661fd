"""A version keeps the exact data it was trained on (`training-data.csv`), hashed in its
manifest but never read by serving."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from app.contract.store import read_version, sha256_file
from training.datafile import TRAINING_DATA_FILE, read_training_data


def test_a_version_keeps_the_data_it_was_trained_on(trained: tuple[Path, Path, str]) -> None:
    csv, version_dir, _ = trained
    manifest = read_version(version_dir).manifest
    record = manifest.training_data
    assert record is not None and record.file == TRAINING_DATA_FILE
    assert record.sha256 == sha256_file(version_dir / TRAINING_DATA_FILE)
    assert record.file not in manifest.files  # serving's files only
    source = pd.read_csv(csv, dtype={"Month": str})
    kept = pd.read_csv(version_dir / TRAINING_DATA_FILE, dtype={"unique_id": str, "ds": str})
    assert list(kept.columns) == ["unique_id", "ds", "y"] and record.rows == len(kept)
    assert set(kept["unique_id"]) == {"synthetic-sales"}  # one series: the model's own id
    assert kept["ds"].tolist() == source["Month"].tolist()
    assert kept["y"].tolist() == source["Sales"].tolist()  # exactly, not rounded
    panel = read_training_data(version_dir, manifest)
    assert panel.id_name == "" and panel.series["synthetic-sales"].value_name == "Sales"
    assert panel.series["synthetic-sales"].values.tolist() == source["Sales"].tolist()


def test_a_catalog_keeps_the_series_it_trained_on_and_not_those_it_skipped(
    catalog_models: Path,
) -> None:
    version_dir = catalog_models / "catalog" / "1"
    manifest = read_version(version_dir).manifest
    panel = read_training_data(version_dir, manifest)
    assert list(panel.series) == ["small", "large", "late", "early-end"]  # "tiny" was skipped
    assert panel.id_name == "unique_id"
    table = read_version(version_dir).series
    assert table is not None
    for k, sid in enumerate(table.ids):
        assert panel.iso_periods[sid][-1] == table.columns.last_period[k]
        assert len(panel.series[sid].values) == table.columns.points[k]


def test_serving_never_reads_the_training_data(
    trained: tuple[Path, Path, str], tmp_path: Path
) -> None:
    version_dir = Path(shutil.copytree(trained[1], tmp_path / "1"))
    (version_dir / TRAINING_DATA_FILE).write_bytes(b"\0" * (5 << 20))  # past any file's bound
    verified = read_version(version_dir)  # its hash would not match, nor its size pass
    assert verified.manifest.training_data is not None

"""`--from-store`: the next version trains on the newest version's data plus the observations
the ledger stored since, in SQLite and in a real PostgreSQL, by the recipe that version
recorded; with nothing new it writes nothing, and every refusal is one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from liveserver import ROOT
from pgkit import new_database

import training.cli as cli
import training.datafile
from app.contract.manifest import LedgerAdditions
from app.contract.store import list_versions, read_version
from app.ledger.store import Ledger, Observation, sqlite_url
from training.datafile import TRAINING_DATA_FILE

SALES = "synthetic-sales"  # the `trained` fixture's model, and its one series


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The service's settings as `make serve` in tmp_path has them: SQLite in its data dir."""
    monkeypatch.setenv("FORECAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FORECAST_DATABASE_URL", raising=False)
    return tmp_path / "data"


def record(url: str, model: str, rows: list[tuple[str, str, float]]) -> None:
    """Store observations as the service does: migrated schema, one upsert."""
    ledger = Ledger(url)
    try:
        ledger.migrate()
        ledger.record(model, [Observation(*row) for row in rows])
    finally:
        ledger.close()


def from_store(models: Path, name: str, *extra: str) -> int:
    return cli.main(["--from-store", "--name", name, "--models-dir", str(models), *extra])


def copy_models(version_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(version_dir.parent.parent, tmp_path / "models"))


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 1, captured
    assert lines[0].startswith("forecast-train: error: ")
    return lines[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_next_version_trains_on_the_observations_stored_since(
    backend: str,
    catalog_models: Path,
    data_dir: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = Path(shutil.copytree(catalog_models, tmp_path / "models"))
    url = sqlite_url(data_dir)
    if backend == "postgresql":
        url = new_database(request.getfixturevalue("postgres_url"))
        monkeypatch.setenv("FORECAST_DATABASE_URL", url)
    rows = [
        ("small", "2008-01", 101.5),
        ("small", "2008-02", 99.0),
        ("large", "2008-01", 812.0),
        ("large", "2008-03", 820.0),  # 2008-02 is missing: this one waits for it
        ("early-end", "2007-07", 55.0),  # it ended 2007-06, six months before the others
        ("late", "2007-12", 333.0),  # a period it was trained on: a correction
    ]
    record(url, "catalog", rows)

    assert from_store(models, "catalog") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == str(models / "catalog" / "2")
    assert "'large' (2008-02 missing)" in out
    was, now = (read_version(models / "catalog" / str(v)) for v in (1, 2))
    assert now.manifest.data.ledger == LedgerAdditions(
        extends_version=1, observations=6, appended=4, corrected=1, unused=1
    )
    assert now.manifest.data.n_points == was.manifest.data.n_points + 4
    assert was.manifest.training_data is not None
    assert now.manifest.data.sha256 == was.manifest.training_data.sha256  # what it extends
    assert now.manifest.data.id_name == "unique_id"
    options = was.manifest.training.options
    assert options is not None and (options.epochs, options.members) == (3, 1)  # trainkit's
    assert now.manifest.training.options == options  # the same recipe, unasked
    assert now.manifest.architecture.members == 1 and now.manifest.training.epochs == 3
    assert now.series is not None
    last = dict(zip(now.series.ids, now.series.columns.last_period, strict=True))
    assert last == {
        "small": "2008-02",
        "large": "2008-01",
        "late": "2007-12",
        "early-end": "2007-07",
    }
    assert now.series.histories[now.series.index["small"], -1] == 99.0  # forecasts start there
    kept = pd.read_csv(models / "catalog" / "2" / TRAINING_DATA_FILE, dtype={"ds": str})
    assert kept.query("unique_id == 'late' and ds == '2007-12'")["y"].tolist() == [333.0]

    assert from_store(models, "catalog") == 0  # nothing since: no version
    again = capsys.readouterr().out
    assert (
        again.startswith("forecast-train: nothing new for 'catalog'")
        and len(again.splitlines()) == 1
    )
    assert "'large' (2008-02 missing)" in again
    assert list_versions(models / "catalog") == [1, 2]


def test_one_series_is_extended_and_an_option_given_wins(
    trained: tuple[Path, Path, str],
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = copy_models(trained[1], tmp_path)
    record(sqlite_url(data_dir), SALES, [(SALES, "2008-01", 650.0), (SALES, "2008-02", 660.0)])
    assert from_store(models, SALES, "--seed", "5", "--quiet") == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(models / SALES / "2")
    was, now = (read_version(models / SALES / str(v)).manifest for v in (1, 2))
    assert now.data.ledger is not None and now.data.ledger.appended == 2
    assert (now.data.n_points, now.data.last_period) == (was.data.n_points + 2, "2008-02")
    assert (now.data.id_name, now.data.value_name) == (None, "Sales")
    assert (was.training.seed, now.training.seed) == (0, 5)


def test_a_tampered_training_data_file_is_refused_before_it_is_parsed(
    trained: tuple[Path, Path, str],
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = copy_models(trained[1], tmp_path)
    with (models / SALES / "1" / TRAINING_DATA_FILE).open("a") as handle:
        handle.write(f"{SALES},2008-01,1e9\n")

    def parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file whose sha256 is not the manifest's was parsed")

    monkeypatch.setattr(training.datafile, "load_panel", parse)
    assert from_store(models, SALES) == 2
    line = one_line(capsys)
    assert f"{TRAINING_DATA_FILE}: sha256" in line and "does not match the manifest" in line
    assert list_versions(models / SALES) == [1]


def test_a_version_that_kept_no_training_data_is_refused(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    shutil.copytree(ROOT / "models" / "milk" / "2", models / "milk" / "2")  # format 2
    assert from_store(models, "milk") == 2
    line = one_line(capsys)
    assert "before versions kept their training data: train once from the CSV" in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://forecast:s3cret@127.0.0.1:1/ledger", "cannot read the observations"),
        (None, "no ledger database at"),  # a data directory no service has started in
        ("not a url", "FORECAST_DATABASE_URL is not a database URL"),
    ],
    ids=["unreachable", "no-sqlite-file", "not-a-url"],
)
def test_a_database_that_cannot_be_read_is_one_line(
    url: str | None,
    expected: str,
    trained: tuple[Path, Path, str],
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    models = copy_models(trained[1], tmp_path)
    if url is not None:
        monkeypatch.setenv("FORECAST_DATABASE_URL", url)
    assert from_store(models, SALES) == 2
    line = one_line(capsys)
    assert expected in line and "s3cret" not in line
    assert not data_dir.exists()  # only read: nothing created

"""Long-format CSVs (`training.panel`): many series in one file, each checked as one series is,
every refusal one line naming the series and the period; and the CLI training on one of them
(`--series`) while one model over many series is not built yet (issue 19)."""

from __future__ import annotations

import contextlib
import io
import random
from pathlib import Path

import pandas as pd
import pytest
from liveserver import ROOT
from trainkit import TINY, train_cli, write_series

import training.cli as cli
from app.contract.calendar import Frequency
from app.contract.store import read_version
from app.errors import InvalidData
from training.data import DataError
from training.panel import is_long_format, load_panel

EMPLOYMENT = ROOT.parent / "shared" / "data" / "us-employment-monthly.csv"


def months(start: str, n: int) -> list[str]:
    return list(pd.period_range(start, periods=n, freq="M").astype(str))


def long_rows(spec: dict[str, list[str]], base: float = 100.0) -> list[str]:
    """`id,period,value` lines, series after series, values base + series index * 10 + step."""
    return [
        f"{sid},{period},{base + 10 * k + i:g}"
        for k, (sid, periods) in enumerate(spec.items())
        for i, period in enumerate(periods)
    ]


def write_long(path: Path, lines: list[str], header: str = "unique_id,ds,y") -> Path:
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def refusal(path: Path, **options: object) -> str:
    with pytest.raises(DataError) as caught:
        load_panel(path, **options)  # type: ignore[arg-type]
    assert isinstance(caught.value, InvalidData)  # the product's one error family
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


WEEKS = ["2000-01-03", "2000-01-10", "2000-01-17"]
TWO = {"a": months("2000-01", 24), "b": months("2001-03", 12)}  # different starts and lengths


def test_unique_id_ds_y_is_read_without_options(tmp_path: Path) -> None:
    path = write_long(tmp_path / "catalog.csv", long_rows(TWO))
    assert is_long_format(path)
    panel = load_panel(path)
    assert panel.ids == ("a", "b") and panel.id_name == "unique_id"
    assert panel.frequency is Frequency.MONTHLY
    a, b = panel.pick("a"), panel.pick("b")
    assert (a.periods[0], a.periods[-1], len(a.values)) == ("2000-01", "2001-12", 24)
    assert (b.periods[0], b.periods[-1], len(b.values)) == ("2001-03", "2002-02", 12)
    assert list(b.values[:3]) == [110.0, 111.0, 112.0]
    assert (a.value_name, a.period_name) == ("y", "ds")
    assert any("2 series of 'y' by 'ds'" in note for note in panel.notes)
    assert any("series 'b'" in note for note in b.notes)  # the picked one is named
    assert not any("sorted" in note for note in panel.notes)


def test_id_column_with_other_names_and_a_text_column_before_the_period(tmp_path: Path) -> None:
    lines = [
        f"{sid},Store {sid.upper()},{period},{value}"
        for sid, period, value in (line.split(",") for line in long_rows(TWO))
    ]
    path = write_long(tmp_path / "stores.csv", lines, header="store,title,month,sales")
    assert not is_long_format(path)
    panel = load_panel(path, id_column="store")
    assert panel.ids == ("a", "b") and panel.pick("a").period_name == "month"
    assert panel.pick("a").value_name == "sales"
    assert any("ignored columns: title" in note for note in panel.notes)
    assert "no series column" in refusal(path)
    assert "no column 'shop'" in refusal(path, id_column="shop")


def test_date_and_value_columns_pick_among_several_numeric_columns(tmp_path: Path) -> None:
    lines = [f"{line},{i}" for i, line in enumerate(long_rows(TWO))]
    path = write_long(tmp_path / "two-values.csv", lines, header="item,period,units,revenue")
    assert "several numeric columns" in refusal(path, id_column="item")
    panel = load_panel(path, id_column="item", date_column="period", value_column="revenue")
    assert list(panel.pick("b").values[:2]) == [24.0, 25.0]


def test_unsorted_and_interleaved_rows_are_sorted_by_period_with_a_note(tmp_path: Path) -> None:
    lines = long_rows(TWO)
    random.Random(3).shuffle(lines)
    panel = load_panel(write_long(tmp_path / "shuffled.csv", lines))
    tidy = load_panel(write_long(tmp_path / "tidy.csv", long_rows(TWO)))
    assert set(panel.ids) == {"a", "b"}
    for sid in ("a", "b"):
        assert panel.pick(sid).periods == tidy.pick(sid).periods
        assert list(panel.pick(sid).values) == list(tidy.pick(sid).values)
    assert any("not sorted" in note for note in panel.notes)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([*long_rows(TWO), "b,2001-05,999"], ["series 'b'", "duplicated periods", "2001-05"]),
        (
            [r for r in long_rows(TWO) if not r.startswith("b,2001-07")],
            ["series 'b'", "2001-08 follows 2001-06", "expected 2001-07"],
        ),
        (
            long_rows({"a": months("2000-01", 6), "w": [*WEEKS, "2000-01-22"]}),
            ["series 'w'", "2000-01-22 follows 2000-01-17", "expected 2000-01-24"],
        ),
        (
            long_rows({"a": months("2000-01", 8), "q": ["2000-Q1", "2000-Q2", "2000-Q3"]}),
            ["series 'q' is quarterly (from 2000-Q1)", "series 'a' is monthly"],
        ),
        ([*long_rows(TWO), "b,2002-03,n/a"], ["series 'b'", "period 2002-03", "missing"]),
        ([*long_rows(TWO), ",2002-03,5"], ["line", "series id is missing"]),
        ([*long_rows(TWO), "a,soon,5"], ["series 'a'", "'soon' is not a date"]),
    ],
    ids=["duplicate", "gap", "irregular-step", "mixed-frequencies", "bad-value", "no-id", "date"],
)
def test_refusals_name_the_series_and_the_period(
    lines: list[str], expected: list[str], tmp_path: Path
) -> None:
    message = refusal(write_long(tmp_path / "bad.csv", lines))
    for part in expected:
        assert part in message


def test_too_short_series_are_skipped_with_a_note_and_none_left_is_refused(
    tmp_path: Path,
) -> None:
    path = write_long(tmp_path / "catalog.csv", long_rows(TWO))
    panel = load_panel(path, min_points=20)
    assert panel.ids == ("a",)
    assert any("skipped 1 series" in note and "'b' (12)" in note for note in panel.notes)
    message = refusal(path, min_points=30)
    assert "too few points in every series" in message and "'a', has 24" in message


def test_an_unknown_series_is_refused_naming_the_nearest(tmp_path: Path) -> None:
    spec = {f"store-{k:02d}": months("2000-01", 4) for k in range(12)}
    panel = load_panel(write_long(tmp_path / "stores.csv", long_rows(spec)))
    with pytest.raises(DataError, match=r"no series 'store-7'.*nearest: store-07"):
        panel.pick("store-7")
    with pytest.raises(DataError, match=r"ids: store-00, .*store-04, \.\.\.$"):
        panel.pick("zzz")


# The CLI: live today, one series at a time.


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 1
    assert lines[0].startswith("forecast-train: error: ")
    return lines[0].removeprefix("forecast-train: error: ")


def test_a_long_file_of_one_series_trains_exactly_as_the_single_series_csv(
    trained: tuple[Path, Path, str], tmp_path: Path
) -> None:
    wide_csv, wide_dir, _ = trained
    wide = pd.read_csv(wide_csv, dtype=str)
    lines = [f"sales,{m},{v}" for m, v in zip(wide["Month"], wide["Sales"], strict=True)]
    long_csv = write_long(tmp_path / "Synthetic Sales.csv", lines)
    code, out = train_cli(long_csv, tmp_path / "models")
    assert code == 0, out
    was, now = read_version(wide_dir).manifest, read_version(Path(out.split()[-1])).manifest
    same = {"file_name", "sha256", "value_name", "id_name"}
    assert now.data.model_dump(exclude=same) == was.data.model_dump(exclude=same)
    assert now.data.value_name == "y"
    assert now.metrics.test.rmse == was.metrics.test.rmse  # same values, preset and seed


def test_series_too_short_for_a_window_are_skipped_and_noted(tmp_path: Path) -> None:
    spec = {"a": months("2000-01", 48), "b": months("2000-01", 20)}
    path = write_long(tmp_path / "one-left.csv", long_rows(spec))
    plan = cli.load(cli.build_parser().parse_args(["--data", str(path)]), "one-left")
    assert list(plan.panel.series) == ["a"] and len(plan.panel.series["a"].values) == 48
    skipped = "'b' (20 before the cutoff)"  # it ends before the last 18 months (M4's horizon)
    assert any("skipped 1 series" in note and skipped in note for note in plan.panel.notes)


def test_series_picks_one_and_trains_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wide = pd.read_csv(write_series(tmp_path / "wide.csv"), dtype=str)
    lines = [
        f"{sid},{m},{float(v) + shift}"
        for sid, shift in (("north", 0), ("south", 1000))
        for m, v in zip(wide["Month"], wide["Sales"], strict=True)
    ]
    path = write_long(tmp_path / "regions.csv", lines, header="region,month,sales")
    argv = ["--data", str(path), "--id-column", "region", "--series", "south"]
    plan = cli.load(cli.build_parser().parse_args(argv), "regions")
    series = plan.panel.series["south"]
    assert series.values[0] == float(wide["Sales"][0]) + 1000
    assert "series 'south' of column 'region' (2 in the file)" in series.notes
    code, out = train_cli(path, tmp_path / "models", *argv[2:])
    assert code == 0, out
    manifest = read_version(Path(out.split()[-1])).manifest
    assert (manifest.data.n_points, manifest.data.value_name) == (len(wide), "sales")
    assert manifest.data.train_min > 1000  # south's values, not north's
    models = ["--models-dir", str(tmp_path / "m")]
    assert "nearest: south" in refused([*argv[:4], "--series", "sout", *models], capsys)
    assert "--series needs a long-format CSV" in refused(
        ["--data", str(tmp_path / "wide.csv"), "--series", "x", *models], capsys
    )


@pytest.mark.skipif(not EMPLOYMENT.is_file(), reason=f"shared data absent: {EMPLOYMENT}")
def test_the_employment_panel_loads_as_148_series_and_trains_on_one(tmp_path: Path) -> None:
    panel = load_panel(EMPLOYMENT, id_column="series_id")
    assert len(panel.series) == 148 and panel.frequency is Frequency.MONTHLY
    series = [panel.pick(sid) for sid in panel.ids]
    assert sum(len(s.values) for s in series) == 72_339
    starts = [s.periods[0] for s in series]
    assert (starts.count("1939-01"), starts.count("1990-01")) == (22, 101)
    assert sum(s.periods[-1] == "2019-09" for s in series) == 147
    assert min(float(s.values.min()) for s in series) == 13.5
    assert max(float(s.values.max()) for s in series) == 152_243
    out = io.StringIO()
    argv = ["--data", str(EMPLOYMENT), "--id-column", "series_id", "--series", "CEU0500000001"]
    with contextlib.redirect_stdout(out):
        code = cli.main([*argv, "--models-dir", str(tmp_path / "models"), *TINY])
    assert code == 0, out.getvalue()
    manifest = read_version(Path(out.getvalue().split()[-1])).manifest
    assert (manifest.data.first_period, manifest.data.n_points) == ("1939-01", 969)
    assert manifest.name == "us-employment-monthly"

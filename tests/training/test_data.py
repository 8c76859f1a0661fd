"""Tests for training.data.load_series: the post's file as it is, common variants, refusals."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from liveserver import ROOT

from training.data import DataError, Series, load_series

SHARED_DATA = ROOT.parent / "shared" / "data"
MILK = SHARED_DATA / "monthly-milk-production-pounds-p.csv"

MONTHS = [f"{1962 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]
VALUES = [589.0 + i for i in range(24)]
PAIRS = list(zip(MONTHS, VALUES, strict=True))


def write(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    """Write a CSV into tmp_path exactly as given (no newline translation)."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def rows(header: str = "Month,Production", sep: str = ",", n: int = 24) -> str:
    """A small clean monthly CSV body with the given header."""
    body = "".join(f"{m}{sep}{v:g}\n" for m, v in zip(MONTHS[:n], VALUES[:n], strict=True))
    return f"{header}\n{body}"


def refusal(path: Path, **kwargs: object) -> str:
    """Load expecting a DataError; return its message after checking it is one line."""
    with pytest.raises(DataError) as info:
        load_series(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --- the post's file, byte for byte -------------------------------------------------------


@pytest.mark.skipif(not MILK.is_file(), reason=f"shared data folder absent: {SHARED_DATA}")
def test_reads_the_posts_file_as_it_is() -> None:
    series = load_series(MILK)
    assert isinstance(series, Series)
    assert series.values.dtype == np.float64 and series.values.shape == (168,)
    assert series.values[0] == 589.0 and series.periods[0] == "1962-01"
    assert series.periods[-1] == "1975-12" and series.values[-1] == 843.0
    assert (series.period_name, series.value_name) == ("Month", "Production")
    assert series.sha256 == hashlib.sha256(MILK.read_bytes()).hexdigest()
    assert series.source == MILK
    assert any("header malformed (typographic quotes)" in note for note in series.notes)
    assert any("empty line" in note for note in series.notes)
    assert series.values.min() >= 553.0 and series.values.max() <= 969.0


@pytest.mark.skipif(not MILK.is_file(), reason=f"shared data folder absent: {SHARED_DATA}")
def test_values_are_read_only() -> None:
    series = load_series(MILK)
    with pytest.raises(ValueError):
        series.values[0] = 0.0


# --- variants that must load ---------------------------------------------------------------


def test_clean_header(tmp_path: Path) -> None:
    series = load_series(write(tmp_path, rows()))
    assert series.values.tolist() == VALUES and list(series.periods) == MONTHS
    assert not any("header" in note for note in series.notes)


def test_other_value_column_name(tmp_path: Path) -> None:
    series = load_series(write(tmp_path, rows("Date,Pounds per cow")))
    assert (series.period_name, series.value_name) == ("Date", "Pounds per cow")


def test_datamarket_footer_is_dropped_with_a_note(tmp_path: Path) -> None:
    footer = "Monthly milk production: pounds per cow. Jan 62 ? Dec 75"
    text = rows(f'"Month","{footer}"') + f"\n{footer}\n\n"
    series = load_series(write(tmp_path, text))
    assert len(series.values) == 24 and series.periods[-1] == MONTHS[-1]
    assert series.value_name == footer
    assert any("trailing non-data line" in note and "Monthly milk" in note for note in series.notes)


def test_iso_dates(tmp_path: Path) -> None:
    text = "Month,Production\n2020-01-31,1\n2020-02-29,2\n2020-03-31,3\n"
    series = load_series(write(tmp_path, text))
    assert series.periods == ("2020-01-31", "2020-02-29", "2020-03-31")
    assert series.values.tolist() == [1.0, 2.0, 3.0]


def test_extra_text_column_is_ignored_with_a_note(tmp_path: Path) -> None:
    text = "Month,Production,Source\n" + "".join(f"{m},{v},USDA\n" for m, v in PAIRS)
    series = load_series(write(tmp_path, text))
    assert series.value_name == "Production"
    assert any("ignored columns: Source" in note for note in series.notes)


def test_value_column_picks_among_numeric_columns(tmp_path: Path) -> None:
    text = "Month,Production,Fat\n" + "".join(f"{m},{v},{v / 20}\n" for m, v in PAIRS)
    series = load_series(write(tmp_path, text), value_column="Fat")
    assert series.value_name == "Fat" and series.values[0] == VALUES[0] / 20


def test_date_column_not_first(tmp_path: Path) -> None:
    text = "Production,Month\n" + "".join(f"{v},{m}\n" for m, v in PAIRS)
    assert load_series(write(tmp_path, text)).period_name == "Month"
    assert load_series(write(tmp_path, text), date_column="Month").values.tolist() == VALUES


def test_utf8_bom_crlf_and_quoted_cells(tmp_path: Path) -> None:
    text = '\ufeff"Month","Production"\r\n' + "".join(f'"{m}",{v}\r\n' for m, v in PAIRS)
    series = load_series(write(tmp_path, text))
    assert series.period_name == "Month" and series.values.tolist() == VALUES


def test_semicolon_separator(tmp_path: Path) -> None:
    series = load_series(write(tmp_path, rows("Month;Production", sep=";")))
    assert series.values.tolist() == VALUES
    assert any("separator" in note for note in series.notes)


def test_header_quoted_as_one_field_is_split(tmp_path: Path) -> None:
    series = load_series(write(tmp_path, rows('"Month,Production"')))
    assert (series.period_name, series.value_name) == ("Month", "Production")
    assert any("header malformed" in note for note in series.notes)


def test_blank_line_inside_the_data_is_ignored(tmp_path: Path) -> None:
    lines = rows().splitlines()
    text = "\n".join([*lines[:5], "", *lines[5:]]) + "\n"
    series = load_series(write(tmp_path, text))
    assert series.values.tolist() == VALUES
    assert any("empty line" in note for note in series.notes)


def test_path_given_as_string(tmp_path: Path) -> None:
    path = write(tmp_path, rows())
    assert load_series(str(path)).source == path


# --- refusals ------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in refusal(tmp_path / "nope.csv")


def test_directory(tmp_path: Path) -> None:
    assert "is a directory" in refusal(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, rows())
    path.chmod(0)
    try:
        assert "cannot be read" in refusal(path)
    finally:
        path.chmod(0o600)


def test_unreadable_file_reported_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", deny)
    assert "cannot be read (Permission denied)" in refusal(tmp_path / "data.csv")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(b"\x89HDF\r\n\x1a\n\x00\x00\x00")
    assert "binary" in refusal(path)


def test_undecodable_file(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, rows("Mois,Production laitière"), encoding="latin-1"))
    assert "not UTF-8" in message and "0xe8" in message


@pytest.mark.parametrize("text", ["", "\n\n", "  \r\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    assert "file is empty" in refusal(write(tmp_path, text))


def test_header_only(tmp_path: Path) -> None:
    assert "no data rows" in refusal(write(tmp_path, "Month,Production\n\n"))


def test_footer_only(tmp_path: Path) -> None:
    assert "no data rows" in refusal(write(tmp_path, "Month,Production\nsource: USDA\n"))


def test_no_numeric_column(tmp_path: Path) -> None:
    text = "Month,Note\n" + "".join(f"{m},ok\n" for m in MONTHS)
    message = refusal(write(tmp_path, text))
    assert "no numeric column besides 'Month'" in message and "Note" in message


def test_only_one_column(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, "Production\n589\n561\n"))
    assert "only one column (Production)" in message


def test_several_numeric_columns_need_a_choice(tmp_path: Path) -> None:
    text = "Month,Production,Fat\n" + "".join(f"{m},{v},{v / 20}\n" for m, v in PAIRS)
    message = refusal(write(tmp_path, text))
    assert "several numeric columns (Production, Fat)" in message and "--value-column" in message


@pytest.mark.parametrize("kwarg", ["date_column", "value_column"])
def test_unknown_column_lists_the_columns(tmp_path: Path, kwarg: str) -> None:
    message = refusal(write(tmp_path, rows()), **{kwarg: "Milk"})
    assert "no column 'Milk'; columns are: Month, Production" in message


def test_same_column_for_period_and_value(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, rows()), date_column="Month", value_column="Month")
    assert "both 'Month'" in message


def test_missing_value_names_line_and_period(tmp_path: Path) -> None:
    text = rows().replace("1963-02,602", "1963-02,")
    assert "line 15 (period 1963-02): value is missing" in refusal(write(tmp_path, text))


def test_missing_value_word(tmp_path: Path) -> None:
    text = rows().replace("1963-02,602", "1963-02,NA")
    assert "line 15 (period 1963-02): value is missing ('NA')" in refusal(write(tmp_path, text))


def test_non_numeric_value(tmp_path: Path) -> None:
    text = rows().replace("1963-02,602", "1963-02,abc").replace("1963-03,603", "1963-03,x")
    message = refusal(write(tmp_path, text))
    assert "line 15 (period 1963-02): value 'abc' is not a number (and 1 more" in message


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "1e400"])
def test_non_finite_value(tmp_path: Path, cell: str) -> None:
    text = rows().replace("1962-03,591", f"1962-03,{cell}")
    message = refusal(write(tmp_path, text))
    assert f"line 4 (period 1962-03): value '{cell}' is not finite" in message


def test_missing_period(tmp_path: Path) -> None:
    text = rows().replace("1962-03,591", ",591")
    assert "line 4: period is missing" in refusal(write(tmp_path, text))


def test_period_that_is_not_a_date(tmp_path: Path) -> None:
    text = "Month,Production\nfirst,1\nsecond,2\n"
    assert "line 2: period 'first' is not a date (and 1 more)" in refusal(write(tmp_path, text))


def test_duplicated_periods_are_named(tmp_path: Path) -> None:
    text = rows().replace("1962-04,592", "1962-03,592")
    message = refusal(write(tmp_path, text))
    assert "duplicated periods: 1962-03 (line 4), 1962-03 (line 5)" in message


def test_unsorted_periods_name_the_first_pair(tmp_path: Path) -> None:
    lines = rows().splitlines()
    lines[6], lines[7] = lines[7], lines[6]
    message = refusal(write(tmp_path, "\n".join(lines) + "\n"))
    assert "periods out of order: 1962-06 (line 8) comes after 1962-07 (line 7)" in message


def test_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    text = rows().replace("1962-03,591", '"1962-03,591')
    assert "line 4: quoted field never closed" in refusal(write(tmp_path, text))


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)


def test_too_few_points(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, rows(n=5)), min_points=13)
    assert "needs at least 13 points, found 5" in message


def test_headerless_file(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, rows().split("\n", 1)[1]))
    assert "first line looks like data, not a header" in message


def test_duplicate_column_names(tmp_path: Path) -> None:
    text = "Month,Production,Production\n1962-01,1,2\n"
    assert "column 'Production' more than once" in refusal(write(tmp_path, text))


def test_header_with_fewer_fields_than_the_rows(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, rows("Month Production")))
    assert "header has 1 field(s) but data rows have 2" in message


# --- properties ----------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(deadline=None, max_examples=60)
@given(st.lists(finite, min_size=1, max_size=40))
def test_any_finite_series_round_trips_exactly(values: list[float]) -> None:
    periods = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(len(values))]
    text = "Month,Value\n" + "".join(f"{p},{v!r}\n" for p, v in zip(periods, values, strict=True))
    with tempfile.TemporaryDirectory() as folder:
        series = load_series(write(Path(folder), text), min_points=len(values))
    expected = np.array(values, dtype=np.float64)
    assert series.values.tobytes() == expected.tobytes()  # bit-exact, sign of zero included
    assert series.periods == tuple(periods)


csv_ish = st.text(alphabet=st.sampled_from(list('0123456789-.,;"\n\r eE+naif\u201d\ufeffMonth')))


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(csv_ish.map(lambda t: t.encode()), st.binary(max_size=64)))
def test_arbitrary_bytes_load_or_refuse_cleanly(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(raw)
        try:
            series = load_series(path)
        except DataError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(f"{path}: ")
            return
    assert np.isfinite(series.values).all() and len(series.values) == len(series.periods)

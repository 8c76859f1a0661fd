"""Tests for training.data.load_series's refusals: each a DataError of one line that starts
with the file's path and says what is wrong, and where."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from datakit import MONTHS, PAIRS, rows, write

from training.data import DataError, load_series


def refusal(path: Path, **kwargs: object) -> str:
    """Load expecting a DataError; return its message after checking it is one line."""
    with pytest.raises(DataError) as info:
        load_series(path, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


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

"""Tests for training.data.load_series: the post's file as it is, common variants, and
properties of any input. Every refusal is in test_data_refusals.py."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
from datakit import MONTHS, PAIRS, VALUES, rows, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from liveserver import ROOT

from training.data import DataError, Series, load_series

SHARED_DATA = ROOT.parent / "shared" / "data"
MILK = SHARED_DATA / "monthly-milk-production-pounds-p.csv"


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

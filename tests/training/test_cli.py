"""`forecast-train` / `python -m training`: bad input of any kind is one line on stderr and exit
code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from liveserver import ROOT
from trainkit import write_series

import training.cli as cli


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--data", "{tmp}/missing.csv"], "file not found"),
        (["--data", "{csv}", "--look-back", "0"], "look-back must be at least 1"),
        (["--data", "{csv}", "--test-fraction", "1.5"], "test-fraction"),
        (["--data", "{csv}", "--name", "../escape"], "--name"),
        (["--data", "{csv}", "--epochs", "many"], "--epochs"),
        (["--data", "{short}"], "too few points"),
        (["--data", "{csv}", "--look-back", "60"], "too few points"),
        (["--data", "{csv}", "--season-length", "1000"], "at most 16,000 are allowed"),
        (["--data", "{csv}", "--preset", "best"], "--preset"),
        (["--data", "{csv}", "--seed", "-1"], "--seed"),
        (["--data", "{csv}", "--models-dir", "{csv}"], "not a writable directory"),
        ([], "--data"),
        (["--from-store"], "--from-store needs --name"),
        (["--from-store", "--name", "sales", "--data", "{csv}"], "--data reads a CSV"),
        (["--from-store", "--name", "sales"], "no version of 'sales' under"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {
        "tmp": tmp_path,
        "csv": write_series(tmp_path / "ok.csv"),
        "short": write_series(tmp_path / "short.csv", n=20),
    }
    argv = ["--models-dir", str(tmp_path / "models"), *(a.format(**paths) for a in args)]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("forecast-train: error: ")
    assert expected in lines[0]
    assert not (tmp_path / "models").exists()


def test_module_entry_point_refuses_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "training", "--data", str(tmp_path / "nope.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("forecast-train: error: ") and len(done.stderr.splitlines()) == 1

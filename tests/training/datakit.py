"""CSV files for the tests of training.data.load_series: 24 clean months, a body of them under
any header and separator, and a file written byte for byte (no newline translation).

Imported by name (tests/training is on pytest's pythonpath) by test_data.py and
test_data_refusals.py.
"""

from __future__ import annotations

from pathlib import Path

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

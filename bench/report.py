"""BENCHMARKS.md plumbing: medians, number formatting, Markdown tables, and owned sections.

Each benchmark owns a section between `<!-- bench-<key>:start -->` and
`<!-- bench-<key>:end -->`; rewriting it leaves everything else in the file
(other engineers' sections included) exactly as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
TITLE = "# Benchmarks\n"


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that exist; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def num(value: float | None, digits: int = 0, unit: str = "") -> str:
    """`1,234` / `0.57 ms`-style cell; a hyphen for a missing value."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def sig(value: float | None, unit: str = "") -> str:
    """Three significant figures, for values spanning microseconds to seconds."""
    if value is None:
        return "-"
    return f"{value:#.3g}".rstrip(".") + unit


def duration(seconds: float) -> str:
    """`36.4 µs`, `7.36 ms`, `1.20 s`: three significant figures in the fitting unit."""
    if seconds < 1e-3:
        return sig(seconds * 1e6, " µs")
    if seconds < 1:
        return sig(seconds * 1e3, " ms")
    return sig(seconds, " s")


def version_dir_main(
    prog: str, description: str | None, measure: Callable[[Path], Any], argv: list[str] | None
) -> int:
    """`python -m <prog> --version-dir DIR`: measure that version, print one JSON line.

    The benchmarks `run_all` starts in a process of their own (`_subprocess`) use it.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    json.dump(measure(args.version_dir), sys.stdout)
    print()
    return 0


def ratio(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else top / bottom


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table; the first column left-aligned, the rest right-aligned."""
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = [f"| {' | '.join(header)} |", f"| {' | '.join(align)} |"]
    return lines + [f"| {' | '.join(row)} |" for row in rows]


def markers(key: str) -> tuple[str, str]:
    return f"<!-- bench-{key}:start -->", f"<!-- bench-{key}:end -->"


def write_section(key: str, lines: Sequence[str], path: Path = BENCHMARKS) -> None:
    """Replace section `key` of `path` with `lines` (appending it if absent), atomically."""
    start, end = markers(key)
    body = "\n".join([start, *lines, end])
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + body + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".BENCHMARKS.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

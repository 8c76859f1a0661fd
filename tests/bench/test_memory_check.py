"""`bench.memory_check` on the real panel: the long memory is chosen where it forecasts the
stand-in test part better, and left out where it does not."""

from __future__ import annotations

import pytest

from bench import memory_check
from bench.accuracy import DATA, PANEL


def test_each_panel_series_keeps_the_memory_its_stand_in_test_part_prefers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not all((DATA / f).is_file() for f in PANEL.values()):
        pytest.skip(f"the panel is not in {DATA}")  # CI and this machine have ../shared
    assert memory_check.main() == 0
    rows = {
        cells[0]: cells[1:]
        for line in capsys.readouterr().out.splitlines()[2:]
        if (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    assert set(rows) >= {"milk", "co2", "elnino"} and "nile" not in rows  # no season
    for name, (chosen, long, ratio) in ((n, rows[n]) for n in ("milk", "co2", "elnino")):
        if float(long) > 1:  # the long memory forecasts worse: not chosen
            assert float(chosen) == 0 and float(ratio) == 1, name
        else:
            assert float(chosen) > 0 and float(ratio) < 1, name

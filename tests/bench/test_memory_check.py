"""`bench.memory_check` on the real panel: the long memory is chosen where it forecasts the
stand-in test part better, and left out where it does not."""

from __future__ import annotations

import pytest

from bench import memory_check
from bench.accuracy import DATA, PANEL


def test_each_panel_series_keeps_the_memories_its_stand_in_test_part_prefers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not all((DATA / f).is_file() for f in PANEL.values()):
        pytest.skip(f"the panel is not in {DATA}")  # CI and this machine have ../shared
    assert memory_check.main() == 0
    season, level = capsys.readouterr().out.split("The memory of the level")
    for text, names in ((season, ("milk", "co2", "elnino")), (level, tuple(PANEL))):
        rows = {
            cells[0]: cells[1:]
            for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| series")
            if (cells := [c.strip() for c in line.strip("|").split("|")])
        }
        assert set(rows) >= set(names)
        for name, (chosen, one, ratio) in ((n, rows[n]) for n in names):
            if float(one) > 1 and float(chosen) == 0:  # all the way forecasts worse: not chosen
                assert float(ratio) == 1, name
            else:  # chosen where it helps: the chosen share forecasts better than none
                assert float(chosen) > 0 and float(ratio) < 1, name
    assert "nile" not in season  # no season to remember

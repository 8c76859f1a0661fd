"""`bench.memory_check` on the real panel: each memory is chosen where it forecasts the
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
    out = capsys.readouterr().out
    season, rest = out.split("The flat memory of the season")
    flat, level = rest.split("The memory of the level")
    seasonal = ("milk", "co2", "elnino")
    for text, names in ((season, seasonal), (flat, seasonal), (level, tuple(PANEL))):
        rows = _rows(text)
        assert set(rows) >= set(names)
        for name, (chosen, one, ratio) in ((n, rows[n]) for n in names):
            if float(chosen) == 0:  # not chosen: the forecasts are those without it
                assert float(ratio) == 1, name
                assert text is flat or float(one) > 1, name  # m and g: all the way was worse
            else:  # chosen where it helps: the chosen share forecasts better than none
                assert float(ratio) < 1, name
    assert float(_rows(flat)["elnino"][0]) > 0.5  # a season that does not change
    assert "nile" not in season and "nile" not in flat  # no season to remember


def _rows(table: str) -> dict[str, list[str]]:
    """A Markdown table's rows by their first cell."""
    return {
        cells[0]: cells[1:]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| series")
        if (cells := [c.strip() for c in line.strip("|").split("|")])
    }

"""The actuals a worker holds past each series' stored end: runs, gaps, and what a new
version makes redundant."""

from __future__ import annotations

import numpy as np

from app.contract.calendar import Frequency
from app.ledger.actuals import Actuals, extended

M = Frequency.MONTHLY


def test_only_the_run_right_after_the_end_counts_until_a_gap_is_filled() -> None:
    actuals = Actuals()
    assert not actuals.any_for("m")
    actuals.add("m", [("a", "2020-02", 2.0), ("a", "2020-04", 4.0), ("b", "2020-02", 9.0)])
    assert actuals.any_for("m") and not actuals.any_for("other")
    assert actuals.since("m", "a", "2020-01", M) == [2.0]  # 2020-03 is missing
    actuals.add("m", [("a", "2020-03", 3.0), ("a", "2020-02", 2.5)])  # a correction, too
    assert actuals.since("m", "a", "2020-01", M) == [2.5, 3.0, 4.0]
    assert actuals.since("m", "a", "2019-12", M) == []  # 2020-01 was never posted
    assert actuals.since("m", "c", "2020-01", M) == []


def test_a_new_version_drops_what_its_data_already_holds() -> None:
    actuals = Actuals()
    actuals.add("m", [("a", p, float(i)) for i, p in enumerate(["2020-02", "2020-03", "2020-04"])])
    actuals.add("m", [("b", "2020-02", 1.0)])
    actuals.prune("m", {"a": "2020-03", "b": "2020-02"}, M)
    assert actuals.since("m", "a", "2020-03", M) == [2.0]
    assert actuals.since("m", "b", "2020-02", M) == []
    assert actuals.since("m", "a", "2020-01", M) == []  # forgotten: the version holds them


def test_a_row_moves_on_at_its_width() -> None:
    row = np.array([np.nan, 1.0, 2.0, 3.0])
    assert np.array_equal(extended(row, [4.0, 5.0]), [2.0, 3.0, 4.0, 5.0])
    assert np.array_equal(extended(row, []), row, equal_nan=True)
    assert np.array_equal(extended(row, [7.0] * 6), [7.0] * 4)

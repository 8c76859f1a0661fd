"""`bench.nested_check`'s table by step: the seeds' mean Winkler score over SARIMA's, and the
seeds' mean coverage, at every step both have."""

from __future__ import annotations

from bench.nested_check import step_lines


def test_the_step_table_divides_the_seeds_mean_winkler_by_sarimas() -> None:
    sarima = {80.0: [(2.0, 0.8), (4.0, 0.7)], 95.0: [(3.0, 0.9), (6.0, 0.9)]}
    runs = [
        {"steps": {80.0: [(1.0, 0.75), (5.0, 0.5)], 95.0: [(3.0, 1.0), (6.0, 1.0)]}},
        {"steps": {80.0: [(3.0, 0.85), (3.0, 0.7)], 95.0: [(3.0, 0.9), (9.0, 0.8)]}},
    ]
    shorter = {80.0: [(1.0, 0.8)], 95.0: [(1.0, 0.9)]}  # a series scored one step only
    found = {
        "a": {"sarima_steps": sarima, "runs": runs},
        "b": {"sarima_steps": shorter, "runs": [{"steps": shorter}]},
    }
    rows = [line for line in step_lines(found) if line.startswith("| a") or line.startswith("| b")]
    assert rows == [
        "| a | 80 % | 1.00 (80%) |",
        "| a | 95 % | 1.00 (95%) |",
        "| b | 80 % | 1.00 (80%) |",
        "| b | 95 % | 1.00 (90%) |",
    ]
    found.pop("b")
    rows = [line for line in step_lines(found) if line.startswith("| a")]
    assert rows == [
        "| a | 80 % | 1.00 (80%) | 1.00 (60%) |",
        "| a | 95 % | 1.00 (95%) | 1.25 (90%) |",
    ]

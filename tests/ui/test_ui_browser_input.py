"""The page's form in headless Chromium: how pasted text and period labels are read
(parse.js and periods.js, as documented), and every control labelled, every result
announced and the tab order following the form."""

from __future__ import annotations

from typing import Any

import pytest
from chromium import CHROMIUM
from liveserver import LiveServer
from pagekit import ready

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")


PERIODS = [
    (["1871", "1872"], "annual", ["1873", "1874"]),
    (["1990Q3", "1990Q4"], "quarterly", ["1991Q1", "1991Q2"]),
    (["1990-Q4", "1991-Q1"], "quarterly", ["1991-Q2", "1991-Q3"]),
    (["1990-01", "1990-04"], "quarterly", ["1990-07", "1990-10"]),
    (["1962-11", "1962-12"], "monthly", ["1963-01", "1963-02"]),
    (["Nov 1962", "Dec 1962"], "monthly", ["Jan 1963", "Feb 1963"]),
    (["2020-01-31", "2020-02-29"], "monthly", ["2020-03-31", "2020-04-30"]),
    (["1990-03-31", "1990-06-30"], "quarterly", ["1990-09-30", "1990-12-31"]),
    (["1950-01-01", "1951-01-01"], "annual", ["1952-01-01", "1953-01-01"]),
    (["2021-01-04", "2021-01-11"], "weekly", ["2021-01-18", "2021-01-25"]),
    (["2020-02-28", "2020-02-29"], "daily", ["2020-03-01", "2020-03-02"]),
    (["1962-01", "1962-03", "1962-04"], None, None),  # uneven
    (["1962-01", "1962-02", "soon"], None, None),  # not a period
    (["1962-01"], None, None),  # no step
]

PASTES = [
    ("12, abc", [12, "abc"], None),
    ("1\n2 3\n4,5", [1, 2, 3, 4, 5], None),
    ("Production\n589\n561", [589, 561], None),
    (
        "\u201cMonth\u201d,\u201dProduction\u201d\n1962-01,589\n1962-02,561\nsource: USDA\n",
        [589, 561],
        "monthly",
    ),
    ("1962-01,589\n1962-02,x", [589, "x"], "monthly"),
    ("year,flow\n1871,1120\n1872,1160", [1120, 1160], "annual"),
]


def test_the_page_reads_periods_and_pastes_as_documented(visit: Any, server: LiveServer) -> None:
    page = visit(server).page
    ready(page, "toy")
    periods = page.evaluate(
        """async (cases) => {
            const { inferPeriods } = await import("./ui/periods.js");
            return cases.map((labels) => {
                const found = inferPeriods(labels);
                return [found.frequency, found.frequency ? found.next(2) : null];
            });
        }""",
        [labels for labels, _, _ in PERIODS],
    )
    assert periods == [[frequency, after] for _, frequency, after in PERIODS]
    pasted = page.evaluate(
        """async (texts) => {
            const { parseSeries } = await import("./ui/parse.js");
            return texts.map((text) => {
                const parsed = parseSeries(text);
                return [parsed.values, parsed.periods ? parsed.periods.frequency : null];
            });
        }""",
        [text for text, _, _ in PASTES],
    )
    assert pasted == [[values, frequency] for _, values, frequency in PASTES]


def test_every_control_has_a_label_and_results_are_announced(
    visit: Any, server: LiveServer
) -> None:
    page = visit(server).page
    ready(page, "toy")
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input, textarea, select")]
            .filter((c) => !c.labels || c.labels.length === 0).map((c) => c.id)"""
    )
    assert unlabelled == []
    for region in ("#announce", "#values-error", "#horizon-error", "#levels-error", "#form-error"):
        assert page.get_attribute(region, "aria-live") in {"polite", "assertive"}, region
    # Tab order follows the form: values, file, horizon, levels, Forecast, Evaluate.
    page.focus("#values")
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order == ["csv-file", "horizon", "levels", "forecast-button", "evaluate-button"]

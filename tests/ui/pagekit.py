"""Driving the page at `/` in headless Chromium, for the browser tests (test_ui_browser_*.py):
a visit and every request it made, tables read as a reader sees them, numbers as the page
shows them, waits that need no eval, screenshots (to `test-output/screenshots/` at the
repo root), and the check that nothing left the server under test and every call it made
is a documented public path.

Imported by name (tests/ui is on pytest's pythonpath); the fixtures that start Chromium,
the servers and a visit are in tests/ui/conftest.py.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from liveserver import ROOT, LiveServer
from modelkit import synthetic_series

SCREENSHOTS = ROOT / "test-output" / "screenshots"
KEY = "ui-test-key"
MANY = 1200  # the series of conftest's `many` model: more than one `/series` page holds (1000)
TOY = [round(float(v), 3) for v in synthetic_series()]
LEDGER_BODY_BYTES = 256 * 1024  # conftest's `ledger_server`: a quarter of the default limit


@dataclass
class Visit:
    """A page on `server`, with every request it made and every one it was refused."""

    page: Any
    server: LiveServer
    requests: list[Any] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [r.url.removeprefix(self.server.url) for r in self.requests]


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def read_table(page: Any, selector: str) -> tuple[list[str], list[list[str]]]:
    """A table's column names and its body rows, as the text a reader sees."""
    head, rows = page.evaluate(
        """(selector) => {
            const table = document.querySelector(selector);
            const text = (cells) => [...cells].map((c) => c.textContent.trim());
            return [text(table.querySelectorAll("thead th")),
                    [...table.querySelectorAll("tbody tr")].map((r) => text(r.children))];
        }""",
        selector,
    )
    return head, rows


def column(table: tuple[list[str], list[list[str]]], name: str) -> list[float]:
    head, rows = table
    return [float(row[head.index(name)]) for row in rows]


def shown(numbers: list[float], digits: int = 6) -> list[float]:
    """The API's numbers as the page shows them: `digits` significant digits."""
    return [float(f"{x:.{digits}g}") for x in numbers]


def assert_offline_and_public(visit: Visit) -> None:
    """Nothing left the server under test, and every API call is a documented public path."""
    assert visit.outside == [], visit.outside
    assert visit.errors == [], visit.errors
    spec = httpx.get(f"{visit.server.url}/openapi.json").json()["paths"]
    templates = [
        re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$") for p in spec
    ]
    for path in visit.paths():
        path = path.split("?")[0]
        if path.startswith("blob:") or path == "/" or path.startswith("/ui/"):
            continue
        assert any(t.match(path) for t in templates), f"{path} is not in the public API"


def ready(page: Any, model: str) -> None:
    """Wait until `model` is selected and its card shown."""
    page.wait_for_selector(f"button[data-model='{model}'][aria-pressed='true']")
    page.wait_for_function(
        "(m) => document.getElementById('card-title').textContent.startsWith(m + ', version')",
        arg=model,
    )


def wait_text(page: Any, element_id: str, text: str) -> None:
    """Wait until the element's text includes `text` (a function: the page's CSP bans eval)."""
    page.wait_for_function(
        "([id, text]) => document.getElementById(id).textContent.includes(text)",
        arg=[element_id, text],
    )


def download(page: Any) -> list[dict[str, str]]:
    with page.expect_download() as done:
        page.click("#forecast-csv")
    return list(csv.DictReader(io.StringIO(Path(done.value.path()).read_text())))


def toy_text() -> str:
    return "\n".join(str(v) for v in TOY)


def options(page: Any) -> list[str]:
    """The series the picker lists, in order."""
    ids: list[str] = page.eval_on_selector_all(
        "#series-list [role='option']", "(items) => items.map((item) => item.dataset.series)"
    )
    return ids


def wait_options(page: Any, ids: list[str]) -> None:
    """Wait until the picker lists exactly `ids`, in order."""
    page.wait_for_function(
        """(want) => JSON.stringify([...document.querySelectorAll("#series-list [role='option']")]
            .map((item) => item.dataset.series)) === JSON.stringify(want)""",
        arg=ids,
    )


def wait_legend(page: Any, chart: str, fraction: float, want: str) -> None:
    """Point at `fraction` of the chart's width; wait until its legend names period `want`."""
    over = page.locator(f"#{chart} .u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    x = box["x"] + min(box["width"] - 1, max(1, fraction * box["width"]))
    page.mouse.move(x, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "([chart, want]) => document.querySelector(`#${chart} .u-legend .u-value`)"
        ".textContent === want",
        arg=[chart, want],
    )

"""Forecasting on the page in headless Chromium, offline: pasted values or a CSV file
(chosen or dropped) forecast exactly as the API does, in a table with the periods and
bands, a chart and a CSV download; a version without intervals forecasts without bands;
and every API refusal appears next to the field it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from chromium import CHROMIUM
from liveserver import ROOT, LiveServer
from pagekit import (
    TOY,
    assert_offline_and_public,
    column,
    download,
    read_table,
    ready,
    shoot,
    shown,
    toy_text,
    wait_text,
)

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")
MILK_CSV = ROOT.parent / "shared" / "data" / "monthly-milk-production-pounds-p.csv"


def milk_values() -> list[float]:
    if not MILK_CSV.exists():
        pytest.skip(f"{MILK_CSV} is absent")
    rows = [line.split(",") for line in MILK_CSV.read_text(encoding="utf-8").splitlines()[1:]]
    return [float(row[1]) for row in rows if len(row) == 2][-36:]


def forecast_milk(page: Any, values: list[float], card: dict[str, Any]) -> None:
    """Paste, choose horizon 12 and levels 80/95 (when the version has intervals), press Enter."""
    ready(page, "milk")
    page.fill("#values", "\n".join(f"{v:g}" for v in values))
    if card["intervals"] is None:
        assert page.is_disabled("#levels")
        assert "intervals unavailable" in page.text_content("#levels-note").lower()
    else:
        page.fill("#levels", "80, 95")
    page.fill("#horizon", "12")
    page.press("#horizon", "Enter")  # the keyboard submits the form: Forecast is its first button


def test_the_last_36_milk_values_forecast_as_the_api_does(
    visit: Any, committed: LiveServer
) -> None:
    values = milk_values()
    card = httpx.get(f"{committed.url}/v1/models/milk").json()
    levels = [] if card["intervals"] is None else [80.0, 95.0]
    answer = httpx.post(
        f"{committed.url}/v1/models/milk/predict",
        json={"values": values, "horizon": 12, "levels": levels},
    )
    for width, dark, name in ((1280, False, "milk-desktop"), (390, False, "milk-phone")):
        seen = visit(committed, width=width, dark=dark)
        page = seen.page
        forecast_milk(page, values, card)
        if answer.status_code == 422:  # a version whose intervals stop short of 12 steps
            expected = answer.json()["errors"][0]["message"]
            wait_text(page, "horizon-error", expected)
            shoot(page, name)
            continue
        body = answer.json()
        page.wait_for_selector("#forecast-result:not([hidden])")
        table = read_table(page, "#forecast-table")
        assert len(table[1]) == 12
        assert column(table, "Forecast") == shown(body["forecast"])
        assert len(body["intervals"]) == len(levels)
        for band in body["intervals"]:
            level = f"{band['level']:g}"
            assert column(table, f"{level} % lower") == shown(band["lower"])
            assert column(table, f"{level} % upper") == shown(band["upper"])
        summary = page.text_content("#forecast-summary").lower()
        if card["intervals"] is None:
            assert "intervals unavailable" in summary and "% lower" not in " ".join(table[0])
        assert page.locator("#forecast-chart canvas").count() == 1
        rows = download(page)
        assert [float(r["forecast"]) for r in rows] == body["forecast"]  # unrounded
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways page"
        assert_offline_and_public(seen)
        shoot(page, name)
    dark = visit(committed, width=390, dark=True)
    forecast_milk(dark.page, values, card)
    dark.page.wait_for_selector("#forecast-result:not([hidden]), #horizon-error:not(:empty)")
    shoot(dark.page, "milk-phone-dark")


GOOD = {"values": TOY, "horizon": 3, "levels": [80, 95]}


@pytest.mark.parametrize(
    ("control", "typed", "sent"),
    [
        ("values", {"#values": "12, abc"}, {"values": [12, "abc"]}),  # refused by the schema
        ("horizon", {"#horizon": "0"}, {"horizon": 0}),
        ("horizon", {"#horizon": "12"}, {"horizon": 12}),  # refused by the data plane: toy's
        ("levels", {"#levels": "80, 150"}, {"levels": [80, 150]}),  # intervals stop at 6 steps
    ],
    ids=["bad-value", "horizon-0", "horizon-beyond-intervals", "level-150"],
)
def test_the_api_message_appears_next_to_the_field_it_names(
    visit: Any, server: LiveServer, control: str, typed: dict[str, str], sent: dict[str, Any]
) -> None:
    page = visit(server).page
    ready(page, "toy")
    page.fill("#values", toy_text())
    page.fill("#horizon", "3")
    for selector, text in typed.items():
        page.fill(selector, text)
    page.click("#forecast-button")
    page.wait_for_selector(f"#{control}[aria-invalid='true']")
    answer = httpx.post(f"{server.url}/v1/models/toy/predict", json={**GOOD, **sent})
    assert answer.status_code == 422
    messages = [e["message"] for e in answer.json()["errors"] if e["field"].startswith(control)]
    shown_error = page.text_content(f"#{control}-error")
    assert messages and all(m in shown_error for m in messages), shown_error
    assert page.evaluate("document.activeElement.id") == control
    assert page.is_hidden("#forecast-result"), "no chart stands in for the answer"
    if control == "values":
        assert "line 1" in shown_error and "“abc”" in shown_error
        shoot(page, "bad-paste-desktop")


@pytest.mark.parametrize(
    ("width", "dark", "name"), [(1280, False, "bands-desktop"), (390, True, "bands-phone-dark")]
)
def test_a_csv_file_gives_the_forecast_its_periods_and_bands(
    visit: Any, server: LiveServer, tmp_path: Path, width: int, dark: bool, name: str
) -> None:
    labels = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(len(TOY))]
    path = tmp_path / "toy.csv"
    path.write_text(
        "month,value\n" + "".join(f"{p},{v}\n" for p, v in zip(labels, TOY, strict=True))
    )
    seen = visit(server, width=width, dark=dark)
    page = seen.page
    ready(page, "toy")
    page.set_input_files("#csv-file", str(path))
    wait_text(page, "values-note", "monthly")
    page.fill("#horizon", "6")
    page.fill("#levels", "80, 95")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-result:not([hidden])")
    body = httpx.post(
        f"{server.url}/v1/models/toy/predict",
        json={"values": TOY, "horizon": 6, "levels": [80, 95]},
    ).json()
    table = read_table(page, "#forecast-table")
    future = [f"2008-{m:02d}" for m in range(1, 7)]
    assert [row[1] for row in table[1]] == future
    assert column(table, "Forecast") == shown(body["forecast"])
    assert [b["level"] for b in body["intervals"]] == [80.0, 95.0]
    for band in body["intervals"]:
        level = f"{band['level']:g}"
        assert column(table, f"{level} % lower") == shown(band["lower"])
        assert column(table, f"{level} % upper") == shown(band["upper"])
    rows = download(page)
    assert [r["period"] for r in rows] == future
    assert [float(r["upper_95"]) for r in rows] == body["intervals"][1]["upper"]
    # The chart's x axis is the periods: the legend names the point under the cursor.
    box = page.locator("#forecast-chart .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "(want) => document.querySelector('#forecast-chart .u-legend .u-value').textContent"
        " === want",
        arg="2008-06",
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways page"
    assert_offline_and_public(seen)
    shoot(page, name)


def test_a_dropped_quarterly_csv_continues_its_quarters(visit: Any, server: LiveServer) -> None:
    labels = [f"{1990 + i // 4}Q{i % 4 + 1}" for i in range(len(TOY))]
    text = "quarter;sales\n" + "".join(f"{p};{v}\n" for p, v in zip(labels, TOY, strict=True))
    page = visit(server).page
    ready(page, "toy")
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.items.add(new File([text], "sales.csv", {type: "text/csv"}));
            const zone = document.getElementById("drop-zone");
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }""",
        text,
    )
    wait_text(page, "values-note", "quarterly")
    page.fill("#horizon", "3")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-result:not([hidden])")
    assert [row[1] for row in read_table(page, "#forecast-table")[1]] == [
        "2014Q1",
        "2014Q2",
        "2014Q3",
    ]


def test_a_version_without_intervals_forecasts_without_bands(
    visit: Any, server: LiveServer
) -> None:
    page = visit(server).page
    ready(page, "toy")
    page.click("button[data-model='toy-diff']")
    ready(page, "toy-diff")
    assert page.is_disabled("#levels")
    assert "intervals unavailable" in page.text_content("#levels-note").lower()
    assert "no calibrated intervals" in page.text_content("#card-intervals")
    page.fill("#values", toy_text())
    page.fill("#horizon", "3")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-result:not([hidden])")
    body = httpx.post(
        f"{server.url}/v1/models/toy-diff/predict", json={"values": TOY, "horizon": 3, "levels": []}
    ).json()
    table = read_table(page, "#forecast-table")
    assert table[0] == ["Step", "Forecast"]
    assert column(table, "Forecast") == shown(body["forecast"])
    assert "intervals unavailable" in page.text_content("#forecast-summary").lower()

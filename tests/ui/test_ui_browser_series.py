"""Picking a series the model knows, in headless Chromium, offline: a model with a table of
series shows a searchable picker fed by `GET .../series`, page by page; searching narrows
it; picking a series (by pointer or by keyboard alone) draws its stored history with its
periods, its forecast by id with the API's periods and bands, and its test accuracy
against the seasonal naive, every number as the API gives it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from chromium import CHROMIUM
from liveserver import LiveServer
from pagekit import (
    MANY,
    assert_offline_and_public,
    column,
    options,
    read_table,
    ready,
    shoot,
    shown,
    wait_legend,
    wait_options,
    wait_text,
)

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
pytest.importorskip("keras")  # the models that know series are trained for these tests

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")


def api(server: LiveServer, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{server.url}/v1/models/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def listed(seen: Any) -> list[dict[str, list[str]]]:
    """The query of every `/series` page the page asked for."""
    return [
        parse_qs(urlsplit(r.url).query, keep_blank_values=True)
        for r in seen.requests
        if urlsplit(r.url).path.endswith("/series")
    ]


def test_a_model_with_series_shows_a_picker_and_searching_narrows_it(
    visit: Any, series_server: LiveServer
) -> None:
    seen = visit(series_server)
    page = seen.page
    ready(page, "catalog")
    every = [s["series_id"] for s in api(series_server, "catalog/series")["series"]]
    wait_options(page, every)
    assert page.is_visible("#source") and page.is_checked("#source-known")
    assert page.is_hidden("#drop-zone") and page.is_hidden("#evaluate-button")
    assert page.text_content("#series-status") == f"{len(every)} series."
    page.fill("#series-search", "LA")  # any case, anywhere in the id, as the API searches
    found = api(series_server, "catalog/series", search="LA")
    wait_options(page, [s["series_id"] for s in found["series"]])
    assert options(page) == ["large", "late"]
    wait_text(page, "series-status", "2 series match “LA”.")
    page.fill("#series-search", "nothing-like-it")
    wait_text(page, "series-status", "No series matches “nothing-like-it”.")
    assert page.is_hidden("#series-list")
    assert page.get_attribute("#series-search", "aria-expanded") == "false"
    assert listed(seen)[-1]["search"] == ["nothing-like-it"]
    assert_offline_and_public(seen)


@pytest.mark.parametrize(("width", "name"), [(1280, "series-desktop"), (390, "series-phone")])
def test_picking_a_series_draws_its_history_forecast_and_accuracy_as_the_api_gives_them(
    visit: Any, series_server: LiveServer, width: int, name: str
) -> None:
    seen = visit(series_server, width=width)
    page = seen.page
    ready(page, "catalog")
    page.click("#series-list [data-series='late']")
    page.wait_for_selector("#forecast-result:not([hidden])")
    detail = api(series_server, "catalog/series/late")
    answer = httpx.post(
        f"{series_server.url}/v1/models/catalog/predict",
        json={"series_id": "late", "horizon": 12, "levels": [80, 95]},
    ).json()
    table = read_table(page, "#forecast-table")
    assert [row[1] for row in table[1]] == answer["periods"]  # the API's dates
    assert column(table, "Forecast") == shown(answer["forecast"])
    for band in answer["intervals"]:
        level = f"{band['level']:g}"
        assert column(table, f"{level} % lower") == shown(band["lower"])
        assert column(table, f"{level} % upper") == shown(band["upper"])
    summary = page.text_content("#forecast-summary")
    assert f"the {len(detail['history'])} stored values of late" in summary
    assert f"({detail['periods'][0]} to {detail['last_period']})" in summary
    # The chart runs from the history's first period to the forecast's last.
    wait_legend(page, "forecast-chart", 0, detail["periods"][0])
    wait_legend(page, "forecast-chart", 1, answer["periods"][-1])
    n = len(detail["history"])
    chart = page.evaluate(
        "() => document.getElementById('forecast-chart').getAttribute('aria-label')"
    )
    assert chart.startswith(f"Chart of {n} values of history and a 12-step forecast with 80%")
    test = detail["test"]
    scores = read_table(page, "#forecast-accuracy table")
    assert scores[0] == ["", "RMSE", "MAE", "MASE"]
    assert [row[0] for row in scores[1]] == [
        "catalog version 1",
        "Seasonal naive (baseline)",
        "Pipeline alone (the model without its network)",
    ]
    rmses = [test["rmse"], test["seasonal_naive_rmse"], test["pipeline_alone_rmse"]]
    assert column(scores, "RMSE") == shown(rmses, 4)
    mase = [float(row[3]) for row in scores[1][:2]]  # the pipeline alone's MASE is not kept
    assert mase == shown([test["mase"], test["seasonal_naive_mase"]], 4)
    share = f"{shown([100 * detail['network_weight']], 4)[0]:g} % of the network's correction"
    assert share in page.text_content("#forecast-accuracy")
    coverage = read_table(page, "#forecast-accuracy .scroll:last-child table")
    assert [row[0] for row in coverage[1]] == ["80 %", "95 %"]
    got = [float(row[1].removesuffix(" %")) for row in coverage[1]]
    assert got == shown([100 * test["coverage"]["80"], 100 * test["coverage"]["95"]], 4)
    assert "evaluation fit" in page.text_content("#forecast-accuracy")  # the served one is a refit
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways page"
    assert_offline_and_public(seen)
    shoot(page, name)


def test_the_keyboard_alone_finds_and_picks_a_series(visit: Any, series_server: LiveServer) -> None:
    page = visit(series_server).page
    ready(page, "catalog")
    wait_options(page, ["small", "large", "late", "early-end"])
    page.focus("#source-known")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "series-search"
    page.keyboard.type("e")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    found = [s["series_id"] for s in api(series_server, "catalog/series", search="e")["series"]]
    # Keys are handled in turn once the search has answered: wait for the last one's effect.
    page.wait_for_selector(f"#series-list [aria-selected='true'][data-series='{found[1]}']")
    active = page.get_attribute("#series-search", "aria-activedescendant")
    assert page.get_attribute(f"#{active}", "data-series") == found[1]
    assert page.get_attribute(f"#{active}", "aria-selected") == "true"
    assert page.locator("#series-list [aria-selected='true']").count() == 1
    page.keyboard.press("Enter")  # picks; the form is not submitted a second way
    page.wait_for_selector("#forecast-result:not([hidden])")
    wait_text(page, "forecast-summary", f"stored values of {found[1]}")
    assert page.input_value("#series-search") == found[1]
    assert page.evaluate("document.activeElement.id") == "series-search"
    wait_text(page, "announce", f"stored values of {found[1]}")
    page.keyboard.press("Escape")  # clears the search: every series again
    wait_options(page, ["small", "large", "late", "early-end"])
    # A new horizon re-forecasts the picked series from the form.
    page.keyboard.type("early-end")
    page.keyboard.press("Enter")
    wait_text(page, "forecast-summary", "stored values of early-end")
    page.fill("#horizon", "3")
    page.press("#horizon", "Enter")
    page.wait_for_function(
        "() => document.querySelectorAll('#forecast-table tbody tr').length === 3"
    )
    assert [row[1] for row in read_table(page, "#forecast-table")[1]] == [
        "2007-07",
        "2007-08",
        "2007-09",
    ]


def test_thousands_of_series_are_listed_a_page_at_a_time(
    visit: Any, series_server: LiveServer
) -> None:
    seen = visit(series_server)
    page = seen.page
    ready(page, "catalog")
    page.click("button[data-model='many']")
    ready(page, "many")
    wait_text(page, "series-status", f"{MANY} series; the first 50 are listed.")
    assert options(page)[:2] == ["store-0000", "store-0001"] and len(options(page)) == 50
    page.eval_on_selector("#series-list", "(list) => { list.scrollTop = list.scrollHeight; }")
    page.wait_for_function("() => document.querySelectorAll('#series-list li').length === 100")
    page.click("#series-more")
    page.wait_for_function("() => document.querySelectorAll('#series-list li').length === 150")
    assert options(page)[-1] == "store-0149"
    assert all(q["limit"] == ["50"] for q in listed(seen)), "never the whole catalog"
    page.fill("#series-search", "11")
    found = api(series_server, "many/series", search="11", limit=50)
    assert found["total"] > 100  # store-0011, store-0110 to 0119, ..., store-1100 to 1199
    wait_text(page, "series-status", f"{found['total']} series match “11”; the first 50 are")
    assert options(page) == [s["series_id"] for s in found["series"]]
    page.focus("#series-search")
    for _ in range(6):
        page.keyboard.press("PageDown")  # past the 50 listed: the next page is asked for
    page.wait_for_function("() => document.querySelectorAll('#series-list li').length === 100")
    page.fill("#series-search", "store-1150")
    wait_options(page, ["store-1150"])
    page.fill("#horizon", "6")  # many's intervals are calibrated up to 7 steps ahead
    page.press("#series-search", "Enter")
    page.wait_for_selector("#forecast-result:not([hidden])")
    answer = httpx.post(
        f"{series_server.url}/v1/models/many/predict",
        json={"series_id": "store-1150", "horizon": 6, "levels": [80, 95]},
    ).json()
    table = read_table(page, "#forecast-table")
    assert [row[1] for row in table[1]] == answer["periods"]
    assert column(table, "Forecast") == shown(answer["forecast"])
    assert_offline_and_public(seen)
    shoot(page, "series-many-desktop")

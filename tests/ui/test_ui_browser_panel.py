"""The card of a model of many series, in headless Chromium, offline: its aggregate against
the seasonal naive (series count, GM MASE ratio, mean MASE, the spread of coverage), its
worst series (each a button that forecasts it) and which fit its scores come from; and
beside it, a model without a table of series keeps the paste-only form, and a model with
one still forecasts values pasted as a CSV (a series it never saw)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from chromium import CHROMIUM
from liveserver import LiveServer
from pagekit import (
    TOY,
    assert_offline_and_public,
    column,
    read_table,
    ready,
    shoot,
    shown,
    toy_text,
    wait_options,
    wait_text,
)

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
pytest.importorskip("keras")  # the models that know series are trained for these tests

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")


def card_list(page: Any, dl: str) -> dict[str, str]:
    """A `<dl>` of the card as {term: description}."""
    pairs: list[list[str]] = page.eval_on_selector(
        dl,
        """(list) => [...list.querySelectorAll("dt")]
            .map((dt) => [dt.textContent, dt.nextElementSibling.textContent])""",
    )
    return dict(pairs)


def score(x: float) -> str:
    """A score as the page shows it: four significant digits (format.js)."""
    return f"{float(f'{x:.4g}'):g}"


def share(x: float) -> str:
    return f"{score(100 * x)} %"


def test_the_card_shows_the_aggregate_the_worst_series_and_which_fit_scored(
    visit: Any, series_server: LiveServer
) -> None:
    card = httpx.get(f"{series_server.url}/v1/models/catalog").json()
    panel = card["metrics"]["panel"]
    seen = visit(series_server)
    page = seen.page
    ready(page, "catalog")
    page.wait_for_selector("#card-panel:not([hidden])")
    assert page.text_content("#panel-title") == f"Across {panel['series']} series"
    got = card_list(page, "#card-panel dl")
    assert got["Series"] == f"{panel['series']} (ids in “{card['data']['id_name']}”)"
    verdict = "(below 1: better than the seasonal naive)"
    assert got["GM MASE ratio"] == f"{score(panel['gm_mase_ratio'])} {verdict}"
    assert got["Mean MASE"] == score(panel["mean_mase"])
    assert got["Against its pipeline alone"] == (
        f"GM RMSE ratio {score(panel['gm_rmse_to_pipeline_alone'])}; the network makes"
        f" {share(panel['network_hurts'])} of the series worse (ratio above 1.01)"
    )
    for level, (lowest, median, highest) in panel["coverage"].items():
        assert got[f"{level} % coverage"] == (
            f"{share(median)} median, {share(lowest)} lowest, {share(highest)} highest"
        )
    worst = read_table(page, "#card-panel table")
    assert worst[0] == ["Series", "MASE", "Naive MASE", "Ratio"]
    assert [row[0] for row in worst[1]] == [w["series_id"] for w in panel["worst"]]
    assert column(worst, "MASE") == shown([w["mase"] for w in panel["worst"]], 4)
    ratios = [w["mase"] / w["seasonal_naive_mase"] for w in panel["worst"]]
    assert column(worst, "Ratio") == shown(ratios, 4)
    assert ratios == sorted(ratios, reverse=True)
    # The served weights are a refit: the card says the scores are the evaluation fit's.
    assert card["training"]["refit"] is True
    fit = page.text_content("#card-fit")
    assert "evaluation fit" in fit and f"last {card['training']['test_periods']} periods" in fit
    assert card_list(page, "#card-training")["Served weights"].startswith("a refit")
    assert card_list(page, "#card-data")["Series"] == "4, ids in “unique_id”"
    # A worst series is a button: pressing it forecasts that series and moves there.
    first = panel["worst"][0]["series_id"]
    page.click(f"#card-panel button[data-series='{first}']")
    page.wait_for_selector("#forecast-result:not([hidden])")
    wait_text(page, "forecast-summary", f"stored values of {first}")
    assert page.input_value("#series-search") == first
    assert page.evaluate("document.activeElement.id") == "forecast-result"
    periods = httpx.post(
        f"{series_server.url}/v1/models/catalog/predict", json={"series_id": first, "horizon": 12}
    ).json()["periods"]
    assert [row[1] for row in read_table(page, "#forecast-table")[1]] == periods
    assert_offline_and_public(seen)
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "panel-card-desktop")


def test_a_model_without_a_table_shows_no_picker_and_forecasts_as_before(
    visit: Any, series_server: LiveServer
) -> None:
    seen = visit(series_server)
    page = seen.page
    ready(page, "catalog")
    page.wait_for_selector("#known-field:not([hidden])")
    page.click("button[data-model='toy']")
    ready(page, "toy")
    listing = httpx.get(f"{series_server.url}/v1/models/toy/series")
    assert listing.status_code == 422  # trained before versions kept their series
    assert page.is_hidden("#source") and page.is_hidden("#known-field")
    assert page.is_hidden("#card-panel")
    assert page.is_visible("#values") and page.is_visible("#evaluate-button")
    assert "served weights' own" in page.text_content("#card-fit")
    page.fill("#values", toy_text())
    page.fill("#horizon", "3")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-result:not([hidden])")
    body = httpx.post(
        f"{series_server.url}/v1/models/toy/predict",
        json={"values": TOY, "horizon": 3, "levels": [80, 95]},
    ).json()
    table = read_table(page, "#forecast-table")
    assert table[0][:2] == ["Step", "Forecast"]
    assert column(table, "Forecast") == shown(body["forecast"])
    assert page.text_content("#forecast-accuracy") == ""
    page.click("#evaluate-button")
    page.wait_for_selector("#evaluate-result:not([hidden])")
    # Back to a model with series: its picker again.
    page.click("button[data-model='catalog']")
    ready(page, "catalog")
    wait_options(page, ["small", "large", "late", "early-end"])
    assert page.is_hidden("#drop-zone")
    assert_offline_and_public(seen)


def test_a_model_with_series_still_forecasts_a_pasted_csv_it_never_saw(
    visit: Any, series_server: LiveServer
) -> None:
    history = httpx.get(f"{series_server.url}/v1/models/catalog/series/small").json()
    values = [round(v * 1.7 + 3, 3) for v in history["history"]]  # a new series, not `small`
    labels = [f"{1990 + i // 12}-{i % 12 + 1:02d}" for i in range(len(values))]
    text = "month,sales\n" + "".join(f"{p},{v}\n" for p, v in zip(labels, values, strict=True))
    seen = visit(series_server, width=390)
    page = seen.page
    ready(page, "catalog")
    page.wait_for_selector("#known-field:not([hidden])")
    page.check("#source-paste")
    assert page.is_hidden("#known-field") and page.is_visible("#drop-zone")
    page.fill("#values", text)
    wait_text(page, "values-note", "monthly")
    page.fill("#horizon", "4")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-result:not([hidden])")
    body = httpx.post(
        f"{series_server.url}/v1/models/catalog/predict",
        json={"values": values, "horizon": 4, "levels": [80, 95]},
    ).json()
    table = read_table(page, "#forecast-table")
    end = 1990 * 12 + len(values) - 1
    assert [row[1] for row in table[1]] == [
        f"{(end + k) // 12}-{(end + k) % 12 + 1:02d}" for k in range(1, 5)
    ]
    assert column(table, "Forecast") == shown(body["forecast"])
    assert f"from {len(values)} values" in page.text_content("#forecast-summary")
    assert page.text_content("#forecast-accuracy") == ""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways page"
    assert_offline_and_public(seen)
    shoot(page, "panel-pasted-phone")

"""The ledger on the page, in headless Chromium, offline: forecasts of a series by its id
are recorded; actuals read from a CSV (pasted or a file) are posted in batches the API
takes whole; the live accuracy per version, beside the training-time scores, by steps
ahead and the anomalies are shown as `GET .../accuracy` gives them; a refused row is
named by its CSV line; a ledger that is off is said in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from chromium import CHROMIUM
from liveserver import LiveServer, live_server
from pagekit import (
    KEY,
    LEDGER_BODY_BYTES,
    assert_offline_and_public,
    read_table,
    ready,
    shoot,
    shown,
    wait_text,
)

from app.contract.calendar import Frequency, following

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
pytest.importorskip("keras")  # the models that know series are trained for these tests

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")

DASH = "\N{EN DASH}"  # a score the API could not compute, as the page shows it


def api(server: LiveServer, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{server.url}/v1/models/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def score(x: float | None) -> str:
    """A score as the page shows it: four significant digits (format.js), a dash for null."""
    return DASH if x is None else f"{shown([x], 4)[0]:g}"


def share(x: float | None) -> str:
    return DASH if x is None else f"{shown([100 * x], 4)[0]:g} %"


def number(x: float) -> str:
    return f"{shown([x])[0]:g}"


def scores(s: dict[str, Any]) -> list[str]:
    """A row of scores as the page's live tables show them."""
    return [score(s["rmse"]), score(s["mae"]), score(s["mase"])] + [
        share(s["coverage"][level]) for level in ("80", "95")
    ]


def step_row(s: dict[str, Any]) -> list[str]:
    """A row of the table of every step, as the page shows it."""
    counts = [str(s["step"]), str(s["recorded"]), str(s["n"])]
    return ["Version 1", *counts, *scores(s), score(s["winkler"]["95"])]


def anomaly_row(a: dict[str, Any]) -> list[str]:
    numbers = [number(a["forecast"]), number(a["actual"])]
    band = f"{number(a['lower'])} to {number(a['upper'])}"
    return [a["series_id"], a["period"], str(a["version"]), str(a["step"]), *numbers, band]


def pick(page: Any, series_id: str) -> None:
    """Pick a series in the form: the page forecasts it by id."""
    page.fill("#series-search", series_id)
    page.click(f"#series-list [data-series='{series_id}']")
    wait_text(page, "forecast-summary", f"stored values of {series_id}")


def actuals(server: LiveServer) -> tuple[str, list[str]]:
    """Three months of small's and large's actuals (a CSV, and the months), large jolted far
    out of its band in the second month."""
    lines = ["series_id,period,value"]
    months = []
    for sid in ("small", "large"):
        detail = api(server, f"catalog/series/{sid}")
        months = [detail["next_period"], *following(detail["next_period"], Frequency.MONTHLY, 2)]
        for k, month in enumerate(months):
            jolt = 1.3 if sid == "large" and k == 1 else 1.0
            lines.append(f"{sid},{month},{detail['history'][k - 12] * 1.03 * jolt}")
    return "\n".join(lines) + "\n", months


def test_actuals_from_a_csv_file_are_stored_and_scored_as_the_api_scores_them(
    visit: Any, ledger_server: LiveServer, tmp_path: Path
) -> None:
    seen = visit(ledger_server)
    page = seen.page
    ready(page, "catalog")
    wait_text(page, "live-status", "Nothing recorded yet: forecast a series by its id")
    assert page.is_hidden("#live-summary table") and page.is_hidden("#live-charts")
    for sid in ("small", "large"):
        pick(page, sid)
    wait_text(page, "live-status", "No actuals yet: post them below. 24 recorded forecast(s)")
    csv = tmp_path / "actuals.csv"
    text, months = actuals(ledger_server)
    csv.write_text(text)
    page.set_input_files("#actuals-file", str(csv))
    wait_text(page, "actuals-note", "Read actuals.csv")
    page.click("#actuals-button")
    wait_text(page, "actuals-status", "Stored 6 observation(s) for catalog")
    wait_text(page, "live-status", "6 of 24 recorded forecasts scored against their actuals")
    live = api(ledger_server, "catalog/accuracy")
    (version,) = live["versions"]
    first = version["steps"][0]
    summary = read_table(page, "#live-summary table")
    assert summary[0] == ["", "n", "RMSE", "MAE", "MASE", "80 % coverage", "95 % coverage"]
    assert summary[1] == [
        ["Version 1, live", str(first["n"]), *scores(first)],
        ["Version 1, test part", str(version["training"]["n"]), *scores(version["training"])],
    ]
    assert first["n"] == 2 and first["rmse"] is not None
    steps = read_table(page, "#live-steps table")
    assert steps[1] == [step_row(s) for s in version["steps"]]
    assert page.is_visible("#live-charts") and page.locator("#live-rmse .u-over").count() == 1
    label = page.get_attribute("#live-coverage", "aria-label")
    assert label.startswith("Chart of the live coverage of the 80 % and 95 % bands of version(s) 1")
    anomalies = live["anomalies"]
    assert anomalies["total"] >= 1
    assert f"{anomalies['total']} actual(s) outside their 95 % band" in page.text_content(
        "#live-anomalies"
    )
    rows = read_table(page, "#live-anomalies table")
    assert rows[0] == ["Series", "Period", "Version", "Step", "Forecast", "Actual", "95 % band"]
    assert rows[1] == [anomaly_row(a) for a in anomalies["listed"]]
    assert ["large", months[1]] in [row[:2] for row in rows[1]]
    # From a period on: the forecasts for it or later only, as `since` answers.
    page.fill("#live-since", months[1])
    page.press("#live-since", "Enter")
    wait_text(page, "live-status", f"recorded forecasts for {months[1]} on scored")
    (later,) = api(ledger_server, "catalog/accuracy", since=months[1])["versions"]
    assert later["steps"][0]["step"] == 2  # no forecast one step ahead is for it or later
    assert read_table(page, "#live-summary table")[1][0][1:] == ["0", *[DASH] * 5]
    assert read_table(page, "#live-steps table")[1] == [step_row(s) for s in later["steps"]]
    page.fill("#live-since", "2008-13")
    page.press("#live-since", "Enter")
    wait_text(page, "live-since-error", "'2008-13' is not a month like")
    assert page.get_attribute("#live-since", "aria-invalid") == "true"
    page.fill("#live-since", "")
    page.press("#live-since", "Enter")
    wait_text(page, "live-status", "6 of 24 recorded forecasts scored")
    assert_offline_and_public(seen)
    page.eval_on_selector("#live-steps-box", "(box) => { box.open = true; }")
    page.locator("#live").scroll_into_view_if_needed()
    shoot(page, "ledger-desktop")
    # An anomaly's series is a button: it forecasts that series, from the actuals posted.
    page.click("#live-anomalies button[data-series='large']")
    wait_text(page, "forecast-summary", f"and the {len(months)} actual(s) posted since")
    start = following(months[-1], Frequency.MONTHLY, 1)[0]  # after the months posted
    assert read_table(page, "#forecast-table")[1][0][1] == start
    wait_text(page, "live-status", "6 of 36 recorded forecasts")


def test_a_refused_row_is_named_by_its_csv_line_and_nothing_is_stored(
    visit: Any, ledger_server: LiveServer
) -> None:
    seen = visit(ledger_server, width=390)
    page = seen.page
    ready(page, "catalog")
    page.wait_for_function("() => document.getElementById('live-status').textContent !== ''")
    before = api(ledger_server, "catalog/accuracy")
    page.fill("#actuals", "small,2030-01,1\nsmall,2030-02\n")
    page.click("#actuals-button")
    wait_text(page, "actuals-error", "line 2 has 2 cell(s): expected series_id,period,value.")
    assert not [r for r in seen.requests if r.url.endswith("/observations")], "nothing posted"
    text = "series_id,period,value\n\nsmall,2030-01,1\nsmall,2030-13,2\nlarge,2030-01,3\n"
    page.fill("#actuals", text)
    page.click("#actuals-button")
    refused = httpx.post(
        f"{ledger_server.url}/v1/models/catalog/observations",
        json={
            "observations": [
                {"series_id": "small", "period": "2030-01", "value": 1},
                {"series_id": "small", "period": "2030-13", "value": 2},
                {"series_id": "large", "period": "2030-01", "value": 3},
            ]
        },
    )
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert error["field"] == "observations[1].period"
    wait_text(page, "actuals-error", "Not stored: Line 4 (observations[1].period “2030-13”): ")
    assert page.text_content("#actuals-error").endswith(f"{error['message']}. Nothing was stored.")
    assert page.get_attribute("#actuals", "aria-invalid") == "true"
    assert page.text_content("#actuals-status") == ""
    assert api(ledger_server, "catalog/accuracy") == before
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways page"
    assert_offline_and_public(seen)
    page.locator("#actuals-form").scroll_into_view_if_needed()
    shoot(page, "ledger-refused-phone")


def test_a_model_of_one_series_takes_period_value_lines(
    visit: Any, ledger_server: LiveServer
) -> None:
    page = visit(ledger_server).page
    ready(page, "catalog")
    page.click("button[data-model='solo']")
    ready(page, "solo")
    (solo,) = api(ledger_server, "solo/series")["series"]
    hint = f"period,value lines will do (its series is “{solo['series_id']}”)"
    wait_text(page, "actuals-hint", hint)
    page.check("#source-known")
    page.fill("#horizon", "3")  # its intervals are calibrated up to 3 steps ahead
    pick(page, solo["series_id"])
    wait_text(page, "live-status", "No actuals yet: post them below. 3 recorded forecast(s)")
    detail = api(ledger_server, f"solo/series/{solo['series_id']}")
    page.fill("#actuals", f"month,sales\n{detail['next_period']},{detail['history'][-12]}\n")
    page.click("#actuals-button")
    wait_text(page, "actuals-status", "Stored 1 observation(s) for solo (skipped the header line")
    wait_text(page, "live-status", "1 of 3 recorded forecasts scored")
    (version,) = api(ledger_server, "solo/accuracy")["versions"]
    live = read_table(page, "#live-summary table")[1][0]
    assert live == ["Version 1, live", "1", *scores(version["steps"][0])]
    assert page.is_hidden("#live-charts"), "one step scored: the table says it all"


def test_a_large_file_is_posted_in_batches_the_service_takes(
    visit: Any, ledger_server: LiveServer, tmp_path: Path
) -> None:
    """100,002 rows, after a gap in every series' calendar (no stored history moves on), to
    a service that takes bodies of a quarter of the default limit: the first two batches
    are refused whole (413: nothing stored) and the rest go in batches small enough."""
    ids = [s["series_id"] for s in api(ledger_server, "catalog/series")["series"]]
    months = following("2099-12", Frequency.MONTHLY, 100_002 // len(ids) + 1)
    rows = [(sid, month) for month in months for sid in ids][:100_002]
    csv = tmp_path / "many.csv"
    csv.write_text("".join(f"{sid},{month},1.5\n" for sid, month in rows))
    seen = visit(ledger_server)
    page = seen.page
    ready(page, "catalog")
    # The form is set up for the model once its series are known; set_input_files, unlike a
    # click or fill, does not wait for a visible input, so a file read before then is dropped.
    page.wait_for_selector("#actuals-form", state="visible")
    page.set_input_files("#actuals-file", str(csv))
    wait_text(page, "actuals-note", "Read many.csv: 100,002 row(s), too many to show")
    assert page.input_value("#actuals") == ""
    page.click("#actuals-button")
    page.wait_for_function(
        "() => document.getElementById('actuals-status').textContent.startsWith('Stored')",
        timeout=120_000,
    )
    assert page.text_content("#actuals-status") == "Stored 100,002 observation(s) for catalog."
    posts = [r for r in seen.requests if r.url.endswith("/v1/models/catalog/observations")]
    statuses = [r.response().status for r in posts]
    assert statuses[:2] == [413, 413] and set(statuses[2:]) == {200}
    first, second = (len(r.post_data_buffer) for r in posts[:2])  # 1 MiB, then half of it
    assert LEDGER_BODY_BYTES < second <= 1 << 19 < first <= 1 << 20
    stored = [r for r, status in zip(posts, statuses, strict=True) if status == 200]
    assert all(len(r.post_data_buffer) <= LEDGER_BODY_BYTES for r in stored)
    sent = [o for r in stored for o in r.post_data_json["observations"]]
    assert [(o["series_id"], o["period"]) for o in sent] == rows
    assert {o["value"] for o in sent} == {1.5}
    assert_offline_and_public(seen)


def test_with_the_ledger_off_the_page_says_so_and_sends_the_key(
    visit: Any, catalog_models: Path, tmp_path: Path
) -> None:
    env = {
        "FORECAST_MODEL_DIR": str(catalog_models),
        "FORECAST_DEFAULT_MODEL": "catalog",
        "FORECAST_LEDGER": "false",
        "FORECAST_API_KEYS": KEY,
    }
    with live_server(env, tmp_path / "uvicorn.log") as running:
        seen = visit(running)
        page = seen.page
        page.wait_for_selector("#key-panel:not([hidden])")
        page.fill("#api-key", KEY)
        page.press("#api-key", "Enter")
        ready(page, "catalog")
        wait_text(page, "live-status", "No live accuracy: the ledger is unavailable: it is off")
        assert page.is_hidden("#live-summary table") and page.is_hidden("#live-charts")
        page.fill("#actuals", "small,2008-01,100\n")
        page.click("#actuals-button")
        wait_text(page, "actuals-error", "Not stored: the ledger is unavailable: it is off")
        calls = [r for r in seen.requests if "/accuracy" in r.url or "/observations" in r.url]
        assert {r.url.split("/")[-1].split("?")[0] for r in calls} == {"accuracy", "observations"}
        assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in calls)
        assert_offline_and_public(seen)

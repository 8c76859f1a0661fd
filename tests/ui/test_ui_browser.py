"""The page at `/` in headless Chromium, offline, against live servers: what it shows is what
the API answers, errors land next to the field they name, and API keys are asked for.

Playwright drives Debian's chromium (`/usr/bin/chromium`); it never downloads a browser.
Every request that leaves the server under test is aborted and recorded, so "offline"
is asserted, not assumed. Screenshots go to `test-output/screenshots/` at the repo root.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from chromium import CHROMIUM, FLAGS
from liveserver import ROOT, LiveServer, live_server
from modelkit import synthetic_series

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")
SCREENSHOTS = ROOT / "test-output" / "screenshots"
MILK_CSV = ROOT.parent / "shared" / "data" / "monthly-milk-production-pounds-p.csv"
KEY = "ui-test-key"
TOY = [round(float(v), 3) for v in synthetic_series()]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per module; Playwright starts it with a fresh temporary --user-data-dir."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The committed models/ directory, served as `make serve` serves it."""
    env = {"FORECAST_MODEL_DIR": str(ROOT / "models"), "FORECAST_DEFAULT_MODEL": "milk"}
    with live_server(env, tmp_path_factory.mktemp("committed") / "uvicorn.log") as running:
        yield running


@pytest.fixture(scope="module")
def keyed(toy_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    env = {
        "FORECAST_MODEL_DIR": str(toy_models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_API_KEYS": KEY,
    }
    with live_server(env, tmp_path_factory.mktemp("keyed") / "uvicorn.log") as running:
        yield running


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


@pytest.fixture
def visit(browser: Any) -> Iterator[Any]:
    """`visit(server, width=1280, dark=False)`: a fresh tab (own storage) opened on the page."""
    contexts = []

    def open_page(server: LiveServer, width: int = 1280, dark: bool = False) -> Visit:
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            color_scheme="dark" if dark else "light",
            accept_downloads=True,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        seen = Visit(page, server)

        def route(request_route: Any) -> None:
            url = request_route.request.url
            if url.startswith(server.url) or url.startswith("blob:"):
                request_route.continue_()
            else:
                seen.outside.append(url)
                request_route.abort()

        page.route("**/*", route)
        page.on("request", lambda request: seen.requests.append(request))
        page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
        page.goto(f"{server.url}/")
        return seen

    yield open_page
    for context in contexts:
        context.close()


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


def milk_values() -> list[float]:
    if not MILK_CSV.exists():
        pytest.skip(f"{MILK_CSV} is absent")
    rows = [line.split(",") for line in MILK_CSV.read_text(encoding="utf-8").splitlines()[1:]]
    return [float(row[1]) for row in rows if len(row) == 2][-36:]


def test_the_committed_models_are_listed_offline(visit: Any, committed: LiveServer) -> None:
    models = httpx.get(f"{committed.url}/v1/models").json()
    seen = visit(committed)
    page = seen.page
    ready(page, "milk")
    head, rows = read_table(page, "#models-table")
    assert head == ["Model", "Version", "State", "Frequency", "Data"]
    assert [row[0] for row in rows] == [m["name"] for m in models]
    for model, row in zip(models, rows, strict=True):
        card = httpx.get(f"{committed.url}/v1/models/{model['name']}").json()
        assert row[1].startswith(str(model["version"])) and row[2] == model["state"]
        assert row[3] == card["data"]["frequency"]
        assert f"{card['data']['n_points']} points" in row[4]
    card = httpx.get(f"{committed.url}/v1/models/milk").json()
    metrics = read_table(page, "#card-metrics")
    assert [row[0] for row in metrics[1]][:2] == ["Train", "Test"]
    assert column(metrics, "RMSE")[:2] == shown(
        [card["metrics"]["train"]["rmse"], card["metrics"]["test"]["rmse"]], 4
    )
    assert "Persistence (baseline)" in [row[0] for row in metrics[1]]
    page.wait_for_function("() => document.getElementById('report-img').naturalWidth > 0")
    assert_offline_and_public(seen)
    page_bytes = sum(
        r.sizes()["responseBodySize"]
        for r in seen.requests
        if r.url.removeprefix(committed.url) == "/" or "/ui/" in r.url
    )
    assert page_bytes < 300_000, f"the page and its assets weigh {page_bytes} bytes"


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


def toy_text() -> str:
    return "\n".join(str(v) for v in TOY)


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


def test_a_failed_model_is_listed_with_its_reason(
    visit: Any, toy_models: Path, tmp_path: Path
) -> None:
    models = Path(shutil.copytree(toy_models, tmp_path / "models"))
    with (models / "toy-diff" / "1" / "model.keras").open("ab") as tampered:
        tampered.write(b"not what the manifest hashed")
    env = {"FORECAST_MODEL_DIR": str(models), "FORECAST_DEFAULT_MODEL": "toy"}
    with live_server(env, tmp_path / "uvicorn.log") as running:
        listed = {m["name"]: m for m in httpx.get(f"{running.url}/v1/models").json()}
        assert listed["toy-diff"]["state"] == "failed"
        page = visit(running).page
        ready(page, "toy")
        rows = {row[0]: row for row in read_table(page, "#models-table")[1]}
        assert rows["toy-diff"][2] == f"failed: {listed['toy-diff']['reason']}"
        assert page.locator("button[data-model='toy-diff']").count() == 0, "not selectable"


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


def test_evaluate_scores_the_series_beside_the_baselines(visit: Any, server: LiveServer) -> None:
    seen = visit(server)
    page = seen.page
    ready(page, "toy")
    page.fill("#values", toy_text())
    page.fill("#horizon", "3")
    page.fill("#levels", "80, 95")
    page.click("#evaluate-button")
    page.wait_for_selector("#evaluate-result:not([hidden])")
    body = httpx.post(
        f"{server.url}/v1/models/toy/evaluate",
        json={"values": TOY, "horizon": 3, "levels": [80, 95]},
    ).json()
    scores = read_table(page, "#evaluate-scores")
    assert [row[0] for row in scores[1]] == [
        "toy version 1",
        "Persistence (baseline)",
        "Seasonal naive (baseline)",
    ]
    rmse = [row[1] for row in scores[1]]
    assert float(rmse[0]) == shown([body["rmse"]], 4)[0]
    assert float(rmse[1]) == shown([body["baselines"]["persistence"]["rmse"]], 4)[0]
    seasonal = body["baselines"]["seasonal_naive"]  # null: a first point lacks a season back
    if seasonal is None:
        assert rmse[2] == "too little history for this baseline"
    else:
        assert float(rmse[2]) == shown([seasonal["rmse"]], 4)[0]
    assert float(scores[1][0][4]) == shown([body["mase"]], 4)[0]
    assert [w in page.text_content("#evaluate-warnings") for w in body["warnings"]] == [True] * len(
        body["warnings"]
    )
    backtest = read_table(page, "#evaluate-backtest table")
    assert column(backtest, "RMSE") == shown([s["rmse"] for s in body["backtest"]], 4)
    coverage = read_table(page, "#evaluate-intervals table")
    assert [row[0] for row in coverage[1]] == ["80 %", "95 %"]
    assert page.locator("#evaluate-chart canvas").count() == 1
    assert_offline_and_public(seen)
    shoot(page, "evaluate-desktop")


def test_with_keys_the_page_asks_for_one_and_keeps_it_in_memory_only(
    visit: Any, keyed: LiveServer
) -> None:
    seen = visit(keyed)
    page = seen.page
    page.wait_for_selector("#key-panel:not([hidden])")
    assert page.is_hidden("#models-table") and page.is_hidden("#card")
    assert "missing API key" in page.text_content("#key-reason")  # the API's own words
    assert page.text_content("#api-key-error") == ""  # no key tried yet: nothing is wrong
    assert page.evaluate("document.activeElement.id") == "api-key"
    shoot(page, "keys-desktop")
    page.fill("#api-key", "not-the-key")
    page.press("#api-key", "Enter")
    wait_text(page, "api-key-error", "invalid API key")
    assert page.get_attribute("#api-key", "aria-invalid") == "true"
    assert page.is_hidden("#models-table")
    page.fill("#api-key", KEY)
    page.press("#api-key", "Enter")
    ready(page, "toy")
    assert page.is_hidden("#key-panel")
    page.fill("#values", toy_text())
    page.fill("#horizon", "3")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-result:not([hidden])")
    assert len(read_table(page, "#forecast-table")[1]) == 3
    stored = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]
    assert KEY not in page.url and KEY not in page.content()
    assert not any(KEY in r.url for r in seen.requests)
    calls = [r for r in seen.requests if "/v1/models/toy/predict" in r.url]
    assert calls and all(r.headers.get("authorization") == f"Bearer {KEY}" for r in calls)
    assert_offline_and_public(seen)


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

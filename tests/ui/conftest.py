"""Fixtures of the page's browser tests (test_ui_browser_*.py): one headless Chromium per
module, the live servers they visit (the committed models; the toy models behind an API
key; models that know series beside one that does not; models with a ledger of their own;
the toy models alone are tests/conftest.py's `server`), and `visit`, a fresh tab on the page.

Playwright drives Debian's chromium (`/usr/bin/chromium`); it never downloads a browser.
Every request that leaves the server under test is aborted and recorded, so "offline"
is asserted, not assumed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import CHROMIUM, FLAGS
from liveserver import ROOT, LiveServer, live_server
from pagekit import KEY, LEDGER_BODY_BYTES, MANY, Visit


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per module; Playwright starts it with a fresh temporary --user-data-dir."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
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


@pytest.fixture(scope="session")
def many_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding `many`: a tiny global model over 1200 monthly series
    (`store-0000` to `store-1199`, 60 months each), trained in about half a minute."""
    pytest.importorskip("keras")
    from trainkit import train_cli, write_catalog

    base = tmp_path_factory.mktemp("many")
    series = {f"store-{i:04d}": (1.0 + (i % 17) / 4, 0, 60) for i in range(MANY)}
    csv = write_catalog(base / "many.csv", series)
    code, out = train_cli(csv, base / "models", "--batch-size", "1024")
    assert code == 0, out
    return base / "models"


@pytest.fixture(scope="module")
def series_server(
    catalog_models: Path,
    many_models: Path,
    toy_models: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """`catalog` (4 series) and `many` (1200), which know their series, beside `toy`, a
    model trained before versions kept their series."""
    models = tmp_path_factory.mktemp("series-models")
    shutil.copytree(catalog_models / "catalog", models / "catalog")
    shutil.copytree(many_models / "many", models / "many")
    shutil.copytree(toy_models / "toy", models / "toy")
    env = {"FORECAST_MODEL_DIR": str(models), "FORECAST_DEFAULT_MODEL": "catalog"}
    with live_server(env, tmp_path_factory.mktemp("series") / "uvicorn.log") as running:
        yield running


@pytest.fixture(scope="session")
def solo_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding `solo`: a tiny model of one series, trained in a second."""
    pytest.importorskip("keras")
    from trainkit import train_cli, write_series

    base = tmp_path_factory.mktemp("solo")
    code, out = train_cli(write_series(base / "solo.csv"), base / "models")
    assert code == 0, out
    return base / "models"


@pytest.fixture(scope="module")
def ledger_server(
    catalog_models: Path, solo_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`catalog` (4 series) and `solo` (one) with a ledger of their own: what a test posts
    there moves these models' stored histories and no other server's. Bodies are limited
    to 256 KiB, a quarter of the default, so the page's first large batch is refused."""
    models = tmp_path_factory.mktemp("ledger-models")
    shutil.copytree(catalog_models / "catalog", models / "catalog")
    shutil.copytree(solo_models / "solo", models / "solo")
    env = {
        "FORECAST_MODEL_DIR": str(models),
        "FORECAST_DEFAULT_MODEL": "catalog",
        "FORECAST_DATA_DIR": str(tmp_path_factory.mktemp("ledger-data")),
        "FORECAST_MAX_BODY_BYTES": str(LEDGER_BODY_BYTES),
    }
    with live_server(env, tmp_path_factory.mktemp("ledger") / "uvicorn.log") as running:
        yield running


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

"""The page at `/` (app/ui): served with its own assets, small, off with FORECAST_UI=false,
open when keys are set, and its vendored chart library exactly the pinned one.

The page's behaviour in a real browser is in `test_ui_browser_*.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from app.ui.routes import STATIC

UI = STATIC.parent
BUDGET_BYTES = 300_000  # the page and everything it loads, uncompressed
ASSET = re.compile(r"""(?:src|href)=["'](ui/[^"']+)["']""")
IMPORT = re.compile(r"""^import [^;]*? from ["'](\./[^"']+)["'];""", re.MULTILINE)


def page_assets(client: TestClient) -> dict[str, bytes]:
    """Every file the page loads: its `src`/`href` assets and the modules they import."""
    html = client.get("/").text
    pending = ASSET.findall(html)
    seen: dict[str, bytes] = {}
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        response = client.get(f"/{path}")
        assert response.status_code == 200, path
        seen[path] = response.content
        if path.endswith(".js"):
            base = path.rsplit("/", 1)[0]
            pending += [f"{base}/{m[2:]}" for m in IMPORT.findall(response.text)]
    return seen


def test_the_page_and_its_assets_are_served_from_the_project(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = page_assets(client)
    assert {"ui/app.js", "ui/style.css", "ui/vendor/uplot/uPlot.iife.min.js"} <= set(assets)
    assert {"ui/api.js", "ui/parse.js", "ui/periods.js", "ui/chart.js"} <= set(assets)
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", page.text), "nothing external"
    assert client.head("/").status_code == 200


def test_the_page_weighs_under_its_budget(client: TestClient) -> None:
    total = len(client.get("/").content) + sum(map(len, page_assets(client).values()))
    assert total < BUDGET_BYTES, f"{total} bytes"


def test_every_static_file_is_loaded_by_the_page(client: TestClient) -> None:
    """No dead files: whatever is under static/ ships because the page uses it."""
    loaded = set(page_assets(client)) | {"ui/index.html", "ui/vendor/uplot/LICENSE"}
    on_disk = {f"ui/{p.relative_to(STATIC).as_posix()}" for p in STATIC.rglob("*") if p.is_file()}
    assert on_disk == loaded


@pytest.fixture
def ui_off(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings.model_copy(update={"ui": False}))) as test_client:
        yield test_client


def test_ui_false_leaves_the_page_and_its_assets_out(ui_off: TestClient) -> None:
    for path in ("/", "/ui/app.js", "/ui/vendor/uplot/uPlot.iife.min.js"):
        assert ui_off.get(path).status_code == 404, path
    assert ui_off.get("/v1/models").status_code == 200


def test_the_page_stays_open_when_keys_guard_the_api(settings: Settings) -> None:
    keyed = settings.model_copy(update={"api_keys": SecretStr("page-key")})
    with TestClient(create_app(keyed)) as client:
        assert client.get("/").status_code == 200
        assert client.get("/ui/app.js").status_code == 200
        assert client.get("/v1/models").status_code == 401


def test_the_page_is_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/ui") for p in paths)


def test_the_scripts_keep_no_key_in_storage_or_the_url() -> None:
    """The key lives in api.js's memory only; a browser test checks the same at run time."""
    for script in STATIC.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        used = re.findall(
            r"(?:local|session)Storage\s*[.[]|document\.cookie|history\.\w+State", text
        )
        assert not used, f"{script.name} uses {used}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_vendored_chart_library_is_the_pinned_one() -> None:
    """`make ui-vendor` re-fetches it; a hand edit or a silent upgrade fails here."""
    package = json.loads((UI / "package.json").read_text(encoding="utf-8"))
    assert set(package["vendored"]) == set(package["dependencies"])
    for name, pinned in package["vendored"].items():
        version = package["dependencies"][name]
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: pin an exact version"
        assert pinned["integrity"].startswith("sha512-")
        for source, entry in pinned["files"].items():
            assert sha256(UI / entry["to"]) == entry["sha256"], f"{name}/{source} drifted"
    licence = STATIC / "vendor" / "uplot" / "LICENSE"
    assert "MIT License" in licence.read_text(encoding="utf-8")


def test_the_page_batches_actuals_within_the_apis_limits() -> None:
    """actuals.js posts at most the API's rows per request, and at first at most the default
    body limit of JSON (it halves its batches after a 413 from a service set lower)."""
    from app.v1.observations import MAX_OBSERVATIONS

    script = (STATIC / "actuals.js").read_text(encoding="utf-8")
    consts = {
        name: int(value.replace("_", ""))
        for name, value in re.findall(r"^export const (\w+) = ([\d_]+);$", script, re.MULTILINE)
    }
    assert consts["BATCH"] == MAX_OBSERVATIONS
    assert consts["BODY_BYTES"] == Settings.model_fields["max_body_bytes"].default

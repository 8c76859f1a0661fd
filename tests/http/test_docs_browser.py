"""`/docs` renders in a real browser with no internet: Swagger UI comes from local files."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from chromium import CHROMIUM, FLAGS
from liveserver import LiveServer

DOM_FLAGS = [*FLAGS, "--dump-dom", "--virtual-time-budget=10000"]


def test_docs_page_loads_its_assets_from_this_server(server: LiveServer) -> None:
    page = httpx.get(f"{server.url}/docs").text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
    assert assets and all(a.startswith("/static/swagger-ui/") for a in assets), assets
    for asset in assets:
        assert httpx.get(f"{server.url}{asset}").status_code == 200, asset


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (install Debian's `chromium`)")
def test_docs_render_the_operations_in_headless_chromium(
    server: LiveServer, tmp_path: Path
) -> None:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *DOM_FLAGS, f"--user-data-dir={tmp_path}", f"{server.url}/docs"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = done.stdout
    assert 'class="swagger-ui' in dom, done.stderr[-2000:]
    for operation in (
        "/v1/predict",
        "/v1/models/{name}/predict/batch",
        "/v1/models/{name}/evaluate",
        "/ready",
    ):
        assert operation in dom, operation

"""The page in headless Chromium against a server with API keys: it asks for a key, shows
the API's refusal of a wrong one, and keeps the right one in memory only (no storage, no
cookie, no URL), sending it as a bearer header."""

from __future__ import annotations

from typing import Any

import pytest
from chromium import CHROMIUM
from liveserver import LiveServer
from pagekit import KEY, assert_offline_and_public, read_table, ready, shoot, toy_text, wait_text

pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium`)")


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

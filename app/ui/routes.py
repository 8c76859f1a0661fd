"""`GET /` and its assets under `/ui/`, added to the app only when `FORECAST_UI` is true.

The page is static: no template, no server-side state, nothing behind the
public API. It and its assets are open like `/docs` (the page asks for a key
and sends it only on its API calls). Its Content-Security-Policy allows this
origin only, so a stray CDN reference could not load even with a network.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = "/ui"
PAGE_ROUTE = "ui-page"

HEADERS = {
    # 'self' only: the page loads nothing from elsewhere; blob: is the report image and the CSV.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate (ETag): a new release's page is seen at once
}


def install_ui(app: FastAPI) -> None:
    """Add `/` and the static files; once only, however often the lifespan runs."""
    if any(getattr(route, "name", None) == PAGE_ROUTE for route in app.router.routes):
        return
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="ui-assets")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False, name=PAGE_ROUTE)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=HEADERS)

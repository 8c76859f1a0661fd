"""`/docs` without internet: Swagger UI's files come from an installed package, not a CDN.

FastAPI's built-in page loads its JavaScript and CSS from a CDN, which a
machine without internet (or a locked-down cluster) cannot reach. The
`swagger-ui-bundle-v2` package ships Swagger UI 5 (which reads OpenAPI 3.1);
its directory is mounted as static files and the page points there.
"""

from __future__ import annotations

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/static/swagger-ui"


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at `/docs` from local assets under `/static/swagger-ui`."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_bundle.swagger_ui_path)), "swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
        )

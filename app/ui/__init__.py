"""The page at `/`: a human-facing client of the public API, served from the project's own files.

Everything the page does goes through the same `/v1` endpoints any client
calls, with the same API key, so what it shows is what a client gets. Its
HTML, CSS and JavaScript modules are plain files under `static/` (no build
step); the chart library is vendored under `static/vendor/` and pinned in
`package.json` (`make ui-vendor` re-fetches it). `FORECAST_UI=false` leaves the
page and its assets out of the app.
"""

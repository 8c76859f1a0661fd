"""Prometheus metrics at /metrics: labelled by route template, probes out of the histogram,
forecasts and model versions counted, and correct across several uvicorn workers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from liveserver import live_server
from modelkit import clone_version, synthetic_series
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from app.contract.store import ArtifactError
from app.engine.errors import ModelFormatError
from app.forecaster import ForecasterError
from app.main import create_app
from app.settings import Settings

SERIES = [float(v) for v in synthetic_series(24)]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client: TestClient | httpx.Client, url: str = "/metrics") -> Samples:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def labels_of(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(key)[label] for (n, key) in samples if n == name and label in dict(key)}


PREDICT = {"route": "/v1/models/{name}/predict", "method": "POST"}


def test_requests_are_counted_and_timed_by_route_template(client: TestClient) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.post("/v1/models/toy/predict", json={"values": SERIES}).status_code == 200
    client.post("/v1/models/toy-diff/predict", json={"values": SERIES})
    client.post("/v1/models/absent/predict", json={"values": SERIES})
    after = scrape(client)
    count = "forecast_http_requests_total"
    assert (
        value(after, count, **PREDICT, status="200") - value(before, count, **PREDICT, status="200")
        == 4
    )
    assert (
        value(after, count, **PREDICT, status="404") - value(before, count, **PREDICT, status="404")
        == 1
    )
    timed = "forecast_http_request_duration_seconds_count"
    assert value(after, timed, **PREDICT) - value(before, timed, **PREDICT) == 5
    routes = labels_of(after, count, "route")
    assert not any("toy" in route or "absent" in route for route in routes), routes


def test_probes_and_scrapes_are_counted_but_not_timed(client: TestClient) -> None:
    for path in ("/health", "/ready", "/metrics"):
        client.get(path)
    samples = scrape(client)
    for route in ("/health", "/ready", "/metrics"):
        assert value(
            samples, "forecast_http_requests_total", route=route, method="GET", status="200"
        )
    timed = labels_of(samples, "forecast_http_request_duration_seconds_count", "route")
    assert not timed & {"/health", "/ready", "/metrics"}


def test_unknown_routes_share_one_label_and_mounts_keep_their_prefix(client: TestClient) -> None:
    before = scrape(client)
    for path in ("/nope", "/v1/models/toy/predict/extra/segments", "/static/swagger-ui/x.css"):
        client.get(path)
    after = scrape(client)
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    name = "forecast_http_requests_total"
    assert value(after, name, **unmatched) - value(before, name, **unmatched) == 2
    assert "/static/swagger-ui/{path}" in labels_of(after, name, "route")


def test_odd_methods_share_one_label(client: TestClient) -> None:
    client.request("BREW", "/health")
    assert "other" in labels_of(scrape(client), "forecast_http_requests_total", "method")


def test_forecasts_are_counted_per_series_and_value(client: TestClient) -> None:
    before = scrape(client)
    body = {"series": [SERIES, SERIES, SERIES], "horizon": 2}
    assert client.post("/v1/models/toy/predict/batch", json=body).status_code == 200
    assert client.post("/v1/predict", json={"values": SERIES, "horizon": 5}).status_code == 200
    after = scrape(client)
    model = {"model": "toy", "version": "1"}
    for name, expected in (("forecast_forecasts_total", 4), ("forecast_forecast_values_total", 11)):
        assert value(after, name, **model) - value(before, name, **model) == expected


def test_served_versions_and_load_failures_are_exposed(models_dir: Path) -> None:
    (clone_version(models_dir / "toy", 1, 2) / "scaler.joblib").write_bytes(b"tampered")
    failures = {"model": "toy", "reason": "verification"}
    name = "forecast_model_load_failures_total"
    before = value(parse(generate_latest().decode()), name, **failures)
    with TestClient(create_app(Settings(model_dir=models_dir, default_model="toy"))) as client:
        samples = scrape(client)
    assert value(samples, name, **failures) - before == 1
    assert value(samples, "forecast_model_served_version", model="toy") == 1
    assert value(samples, "forecast_model_served_version", model="toy-diff") == 1


def test_process_metrics_are_exposed(client: TestClient) -> None:
    samples = scrape(client)
    if os.path.exists("/proc/self/stat"):
        assert value(samples, "process_resident_memory_bytes") > 0


def test_openmetrics_is_served_when_asked_for(client: TestClient) -> None:
    response = client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ArtifactError("sha256 mismatch"), "verification"),
        (ModelFormatError("not a zip"), "network"),
        (ForecasterError("warm-up forecast is not finite"), "check"),
        (FileNotFoundError("gone"), "io"),
        (ValueError("name differs"), "other"),
    ],
)
def test_failure_reasons_are_a_bounded_set_of_kinds(error: Exception, kind: str) -> None:
    assert metrics.failure_kind(error) == kind


def test_several_workers_add_up_in_one_scrape(toy_models: Path, tmp_path: Path) -> None:
    """Two workers behind one port: every scrape, whichever worker answers, sees all requests."""
    env = {
        "FORECAST_MODEL_DIR": str(toy_models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "WEB_CONCURRENCY": "2",
    }
    with live_server(env, tmp_path / "log", runner=True) as running:
        with httpx.Client(base_url=running.url) as http:
            for _ in range(30):  # fresh connections, so both workers take some
                response = httpx.post(f"{running.url}/v1/predict", json={"values": SERIES})
                assert response.status_code == 200
            scrapes = [scrape(http) for _ in range(6)]
            workers = {dict(k)["pid"] for (n, k) in scrapes[0] if n.startswith("process_resident")}
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=30) == 0
    route = {"route": "/v1/predict", "method": "POST", "status": "200"}
    assert {value(s, "forecast_http_requests_total", **route) for s in scrapes} == {30}
    assert {value(s, "forecast_forecasts_total", model="toy", version="1") for s in scrapes} == {30}
    assert value(scrapes[0], "forecast_model_served_version", model="toy") == 1
    if os.path.exists("/proc/self/stat"):
        assert len(workers) == 2

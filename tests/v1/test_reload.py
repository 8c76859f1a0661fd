"""`POST /v1/models/{name}/reload`: what it answers once a newer version is served, and its 404.

The watcher behaviour behind it (refusals, rollbacks, polling) is tested in test_watcher.py."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from modelkit import publish_good, synthetic_series

SERIES = [float(v) for v in synthetic_series(24)]


def test_reload_serves_a_new_good_version(client: TestClient, keras_file: Path) -> None:
    version = publish_good(client.app.state.settings.model_dir, keras_file)  # type: ignore[attr-defined]
    answer = client.post("/v1/models/toy/reload").json()
    assert answer == {
        "name": "toy",
        "state": "ready",
        "version": version,
        "previous_version": 1,
        "swapped": True,
        "versions_on_disk": [1, version],
        "refused": {},
        "reason": None,
    }
    assert client.post("/v1/predict", json={"values": SERIES}).json()["version"] == version


def test_reloading_an_unknown_model_is_404(client: TestClient) -> None:
    for name in ("absent", "..", ".hidden"):
        response = client.post(f"/v1/models/{name}/reload")
        assert response.status_code == 404, name
    assert [m["name"] for m in client.get("/v1/models").json()] == ["toy", "toy-diff"]

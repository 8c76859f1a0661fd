"""Issue 17, finding 7: the open readiness probes say ready or not, and why, without secrets.

With API keys on, `/ready` and `/v2/health/ready` are open while `/v1/models` is
not: they must not show what the key guards (model names), nor what nobody
outside needs (absolute paths, refused file names, hash prefixes). With keys
off they help an operator more, but still show no path or hash: the log has those.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings

KEY = "the-only-key"
PROBES = ("/ready", "/v2/health/ready")
HEX_RUN = re.compile(r"[0-9a-f]{8,}")  # a hash, or a prefix of one


def keyed(settings: Settings) -> Settings:
    return settings.model_copy(update={"api_keys": SecretStr(KEY)})


def corrupt_model_file(models_dir: Path) -> str:
    """Append a byte to toy's only version, so it fails its hash; the file's new sha256."""
    path = models_dir / "toy" / "1" / "model.keras"
    with path.open("ab") as handle:
        handle.write(b"\0")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_nothing_secret(text: str, models_dir: Path) -> None:
    assert str(models_dir) not in text and "/" not in text, text
    assert not HEX_RUN.search(text), text
    for name in ("model.keras", "manifest.json", "scaler"):
        assert name not in text, text


@pytest.fixture
def broken(settings: Settings, models_dir: Path) -> Iterator[tuple[Settings, str]]:
    yield settings, corrupt_model_file(models_dir)


def test_with_keys_a_ready_server_shows_no_model_names(settings: Settings) -> None:
    with TestClient(create_app(keyed(settings))) as client:
        ready = client.get("/ready")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "ledger": "ok"}
        assert client.get("/v2/health/ready").json() == {"ready": True}
        assert client.get("/v1/models").status_code == 401  # what the probe must not leak


@pytest.mark.parametrize("probe", PROBES)
def test_with_keys_a_refused_default_model_is_explained_without_secrets(
    broken: tuple[Settings, str], models_dir: Path, probe: str
) -> None:
    settings, digest = broken
    with TestClient(create_app(keyed(settings))) as client:
        response = client.get(probe)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error == "the default model is not served: no version verifies"
    assert "toy" not in response.text and digest[:8] not in response.text
    assert_nothing_secret(response.text, models_dir)


@pytest.mark.parametrize("probe", PROBES)
def test_with_keys_a_missing_default_model_is_explained_without_secrets(
    settings: Settings, models_dir: Path, probe: str
) -> None:
    missing = keyed(settings).model_copy(update={"default_model": "nope"})
    with TestClient(create_app(missing)) as client:
        response = client.get(probe)
    assert response.status_code == 503
    assert response.json()["error"] == "the default model is not served: no such model"
    assert "toy" not in response.text and "nope" not in response.text
    assert_nothing_secret(response.text, models_dir)


@pytest.mark.parametrize("probe", PROBES)
def test_without_keys_the_probe_helps_the_operator_but_shows_no_path_or_hash(
    broken: tuple[Settings, str], models_dir: Path, probe: str
) -> None:
    settings, digest = broken
    with TestClient(create_app(settings)) as client:
        response = client.get(probe)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error == (
        "default model 'toy' is not served: no version verifies (refused: version 1);"
        " GET /v1/models says why"
    )
    assert digest[:8] not in response.text and str(models_dir) not in response.text
    assert not HEX_RUN.search(response.text)


def test_without_keys_a_missing_default_model_names_the_models_there_are(
    settings: Settings, models_dir: Path
) -> None:
    with TestClient(create_app(settings.model_copy(update={"default_model": "nope"}))) as c:
        error = c.get("/ready").json()["error"]
    assert error.startswith("default model 'nope' not found in the model directory; models: ")
    assert "'toy'" in error and str(models_dir) not in error

"""Item 7: broken model versions appearing under a live, polling `python -m app`.

The registry tests (`tests/test_registry.py`) already refuse each of these in
process: a tampered scaler (with a marker pickle), a tampered model file, a
missing manifest, an unknown format version, a verified but unreadable network.
`tests/test_watcher.py` adds polling, half-copied directories and predict under
churn, in process. What is left, and done here, is the production shape: a real
server process picks each fault up by itself while serving, keeps serving the
valid version, stays up, and reports the reason in `/v1/models` and in its log.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import joblib
import pytest
from modelkit import TOYS, OpensAFile, rewrite_manifest, synthetic_series, write_toy
from reliability_kit import (
    Running,
    assert_still_serving,
    next_version,
    publish_broken,
    refusal,
    run_app,
    wait_for,
)

from app.contract.store import MODEL_FILE, SCALER_FILE


@pytest.fixture(scope="module")
def models(toy_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copytree(toy_models, tmp_path_factory.mktemp("faults") / "models"))


@pytest.fixture(scope="module")
def running(models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    env = {
        "FORECAST_MODEL_DIR": str(models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_POLL_SECONDS": "0.1",
    }
    with run_app(env, tmp_path_factory.mktemp("server") / "server.log") as server:
        yield server


def wait_for_refusal(running: Running, name: str, version: int, expected: str) -> str:
    """The reason, once the poll has refused the version with a reason containing `expected`."""

    def refused() -> bool:
        return expected in (refusal(running, name, version) or "")

    wait_for(refused, 15, f"{name} version {version} not refused with {expected!r}")
    return refusal(running, name, version) or ""


def assert_logged(running: Running, name: str, version: int, reason: str) -> None:
    """A warning line with the model, version and reason as fields, not just text."""
    lines = [
        r
        for r in running.records()
        if r.get("message", "").startswith(f"refused model {name} version {version}:")
    ]
    assert lines, f"no log line refuses {name} version {version}"
    assert lines[-1]["level"] == "warning" and lines[-1]["reason"] == reason


def garbage_vouched_for(models: Path, tmp_path: Path) -> int:
    """A `model.keras` that is no Keras file, with a manifest whose hash matches it."""
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"PK\x03\x04 this is no zip archive, let alone a Keras model")
    return int(write_toy(models, TOYS[0], garbage, synthetic_series()).name)


def test_a_corrupt_model_file_vouched_for_by_its_manifest_is_refused(
    running: Running, models: Path, tmp_path: Path
) -> None:
    version = garbage_vouched_for(models, tmp_path)
    reason = wait_for_refusal(running, "toy", version, MODEL_FILE)
    assert "sha256" not in reason  # the hashes match: the engine itself refused the file
    assert_logged(running, "toy", version, reason)
    assert_still_serving(running)


BREAKAGES: dict[str, tuple[Callable[[Path], object], str]] = {
    "unknown-format-version": (
        lambda d: rewrite_manifest(d, format_version=99),
        "unknown manifest format version 99",
    ),
    "truncated-model": (
        lambda d: (d / MODEL_FILE).write_bytes((d / MODEL_FILE).read_bytes()[:100]),
        f"{MODEL_FILE}: sha256",
    ),
    "manifest-not-json": (lambda d: (d / "manifest.json").write_text("{"), "unreadable manifest"),
}


@pytest.mark.parametrize("breakage", BREAKAGES, ids=list(BREAKAGES))
def test_a_broken_version_is_refused_while_the_valid_one_serves(
    running: Running, models: Path, breakage: str
) -> None:
    breaking, expected = BREAKAGES[breakage]
    version = publish_broken(models / "toy", breaking)
    reason = wait_for_refusal(running, "toy", version, expected)
    assert_logged(running, "toy", version, reason)
    assert_still_serving(running)


def test_a_tampered_scaler_is_refused_and_never_unpickled(
    running: Running, models: Path, tmp_path: Path
) -> None:
    """Live twin of test_registry's `test_a_tampered_scaler_is_refused_before_it_is_unpickled`."""
    marker = tmp_path / "pickle-ran"
    version = publish_broken(
        models / "toy", lambda d: joblib.dump(OpensAFile(marker), d / SCALER_FILE)
    )
    reason = wait_for_refusal(running, "toy", version, f"{SCALER_FILE}: sha256")
    httpx.post(f"{running.url}/v1/models/toy/reload")  # and asking again changes nothing
    assert not marker.exists(), "the server unpickled an unverified scaler"
    assert_logged(running, "toy", version, reason)
    assert_still_serving(running)


def test_a_half_written_version_is_refused_then_served_once_complete(
    running: Running, models: Path
) -> None:
    """A `cp -r` caught half way by a poll: only the network so far, no manifest."""
    model_dir = models / "toy-diff"
    version = next_version(model_dir)
    half = model_dir / str(version)
    half.mkdir()
    shutil.copy(model_dir / "1" / MODEL_FILE, half / MODEL_FILE)
    reason = wait_for_refusal(running, "toy-diff", version, "no manifest.json")
    assert_logged(running, "toy-diff", version, reason)
    assert_still_serving(running, model="toy-diff")

    for source in sorted((model_dir / "1").iterdir()):  # the copy finishes, manifest last
        if source.name not in (MODEL_FILE, "manifest.json"):
            shutil.copy(source, half / source.name)
    shutil.copy(model_dir / "1" / "manifest.json", half / "manifest.json")
    rewrite_manifest(half, version=version)
    wait_for(lambda: running.models()["toy-diff"]["version"] == version, 15, "never served")
    assert_still_serving(running, version=version, model="toy-diff")
    assert_still_serving(running)  # the other model never noticed

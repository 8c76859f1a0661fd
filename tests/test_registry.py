"""The registry serves the newest version that verifies, and never unpickles an unverified file."""

from __future__ import annotations

import errno
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from modelkit import (
    TOYS,
    OpensAFile,
    clone_version,
    rewrite_manifest,
    synthetic_series,
    write_toy,
)

from app import registry as registry_module
from app.errors import ModelNotFound, ModelNotReady
from app.main import create_app
from app.registry import ModelState, Registry, ServedVersion, version_loader
from app.settings import Settings
from app.watcher import ModelWatcher


def load(models_dir: Path) -> Registry:
    registry = Registry(models_dir, version_loader(0.5))
    ModelWatcher(registry, 0).load_all()
    return registry


def test_every_model_is_served_at_its_newest_version(models_dir: Path) -> None:
    clone_version(models_dir / "toy", 1, 2)
    registry = load(models_dir)
    assert [(s.name, s.served and s.served.version) for s in registry.states()] == [
        ("toy", 2),
        ("toy-diff", 1),
    ]
    assert registry.state("toy").versions == (1, 2) and registry.state("toy").failures == {}


def tamper_scaler(version_dir: Path, marker: Path) -> None:
    joblib.dump(OpensAFile(marker), version_dir / "scaler.joblib")


def test_a_tampered_scaler_is_refused_before_it_is_unpickled(
    models_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pickle-ran"
    tamper_scaler(clone_version(models_dir / "toy", 1, 2), marker)
    state = load(models_dir).state("toy")
    assert not marker.exists(), "the unverified pickle was loaded"
    assert state.served is not None and state.served.version == 1
    assert "scaler.joblib: sha256" in state.failures[2]
    joblib.load(models_dir / "toy" / "2" / "scaler.joblib")  # the payload is live:
    assert marker.exists()  # loading it without the hash check would have run it


def test_a_tampered_model_file_is_refused(models_dir: Path) -> None:
    version = clone_version(models_dir / "toy", 1, 2)
    with (version / "model.keras").open("ab") as handle:
        handle.write(b"\0")
    state = load(models_dir).state("toy")
    assert state.served and state.served.version == 1
    assert "model.keras: sha256" in state.failures[2]


def _widened(version_dir: Path) -> None:
    """A manifest whose window would make every forecast read 10**8 values (hashes untouched)."""
    pipeline = json.loads((version_dir / "manifest.json").read_text())["pipeline"]
    rewrite_manifest(version_dir, pipeline={**pipeline, "look_back": 10**8})


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (lambda d: (d / "manifest.json").unlink(), "no manifest.json"),
        (lambda d: rewrite_manifest(d, format_version=8), "unknown manifest format version 8"),
        (lambda d: rewrite_manifest(d, name="other"), "manifest says 'other' version 2"),
        (lambda d: rewrite_manifest(d, pipeline="?"), "invalid manifest"),
        (_widened, "at most 16,000 are allowed"),
        (lambda d: (d / "manifest.json").write_text("{"), "unreadable manifest"),
        (lambda d: (d / "report.png").unlink(), "report.png: cannot read"),
    ],
    ids=["missing", "format-version", "wrong-name", "invalid", "wide", "not-json", "missing-file"],
)
def test_a_broken_manifest_falls_back_to_the_older_version(
    models_dir: Path, breakage: object, reason: str
) -> None:
    breakage(clone_version(models_dir / "toy", 1, 2))  # type: ignore[operator]
    state = load(models_dir).state("toy")
    assert state.served and state.served.version == 1
    assert reason in state.failures[2]


def test_a_verified_but_unreadable_network_is_refused(models_dir: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"not a zip")
    write_toy(models_dir, TOYS[0], garbage, synthetic_series())
    state = load(models_dir).state("toy")
    assert state.served and state.served.version == 1
    assert "model" in state.failures[2].lower()


def test_a_model_without_any_valid_version_is_failed_not_fatal(
    models_dir: Path, tmp_path: Path
) -> None:
    tamper_scaler(models_dir / "toy" / "1", tmp_path / "marker")
    registry = load(models_dir)
    state = registry.state("toy")
    assert not state.ready and "version 1: " in (state.reason or "")
    with pytest.raises(ModelNotReady, match="sha256"):
        registry.served("toy")
    assert registry.served("toy-diff").version == 1


def test_names_without_versions_and_stray_directories(models_dir: Path) -> None:
    (models_dir / "empty").mkdir()
    (models_dir / ".hidden" / "1").mkdir(parents=True)
    (models_dir / "toy" / ".building-x").mkdir()
    (models_dir / "toy" / "latest").mkdir()
    registry = load(models_dir)
    assert [s.name for s in registry.states()] == ["empty", "toy", "toy-diff"]
    assert registry.state("empty").reason == "no versions on disk"
    assert registry.state("toy").versions == (1,)


def test_a_missing_model_directory_serves_nothing(tmp_path: Path) -> None:
    registry = load(tmp_path / "absent")
    assert registry.states() == []
    with pytest.raises(ModelNotFound):
        registry.served("toy")


def test_an_unexpected_loader_error_refuses_only_that_version(models_dir: Path) -> None:
    def loader(path: Path) -> ServedVersion:
        raise MemoryError

    registry = Registry(models_dir, loader)
    ModelWatcher(registry, 0).load_all()
    assert registry.state("toy").failures == {1: "MemoryError"}


def test_swap_publishes_a_state_atomically_and_returns_the_old_one(models_dir: Path) -> None:
    registry = load(models_dir)
    old = registry.state("toy")
    clone_version(models_dir / "toy", 1, 2)
    assert registry.state("toy") is old  # loading a new state publishes nothing
    new = registry.load("toy")
    assert registry.swap(new) is old and registry.state("toy") is new


def test_readers_never_see_a_half_swapped_state(models_dir: Path) -> None:
    registry = load(models_dir)
    states = [registry.state("toy"), ModelState("toy", (1,), None, {1: "gone"})]
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            state = registry.state("toy")
            if state.ready != (state.served is not None) or (state.ready and state.failures):
                errors.append(AssertionError(state))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for i in range(2000):
        registry.swap(states[i % 2])
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []


def test_deleting_a_served_directory_does_not_affect_serving(models_dir: Path) -> None:
    registry = load(models_dir)
    shutil.rmtree(models_dir / "toy")
    served = registry.served("toy")
    assert served.report and served.forecaster.forecast(
        np.array([[600.0, 610.0, 620.0]]), 2
    ).shape == (1, 2)


# Found by fuzzing: the permission faults (tests/reliability/test_fault_permissions.py).
def test_an_unreadable_model_directory_refuses_that_model_with_the_reason(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root reads anything, so the OS's refusal is simulated; the live test runs as nobody."""
    real = registry_module.list_versions

    def list_versions(model_dir: Path) -> list[int]:
        if model_dir.name == "toy-diff":
            raise PermissionError(errno.EACCES, "Permission denied", str(model_dir))
        return real(model_dir)

    monkeypatch.setattr(registry_module, "list_versions", list_versions)
    registry = Registry(models_dir, version_loader(0.5))
    ModelWatcher(registry, 0).load_all()
    state = registry.state("toy-diff")
    assert (
        not state.ready
        and state.reason == f"cannot list {models_dir / 'toy-diff'}: Permission denied"
    )
    assert registry.state("toy").ready


# Found by fuzzing: the permission faults (tests/reliability/test_fault_permissions.py).
def test_an_unreadable_model_root_starts_alive_and_not_ready(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.iterdir

    def iterdir(path: Path) -> Iterator[Path]:
        if path == models_dir:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    settings = Settings(model_dir=models_dir, default_model="toy")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        assert client.get("/v1/models").json() == []

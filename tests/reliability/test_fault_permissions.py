"""Item 7: a new version whose files the server cannot read (permissions).

Root reads any file whatever its mode, so the server runs as `nobody` (setpriv)
while the test, as root, publishes versions it cannot read; where that is not
possible the test is skipped with the reason. Unreadable is a refusal with the
OS's reason, never a crash, and the valid version keeps serving. A chmod changes
no modification time, so polling may not notice the fix (it does for a locked
directory, whose manifest it could not stat before); recovery is asked for with
`POST /v1/models/{name}/reload`, as an operator would.

The same goes one and two levels up, a locked model directory and a locked model
root (a volume mounted with the wrong owner): until this suite, either stopped
the server at startup with a traceback, and a model directory locked later
stalled polling for every model after it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from modelkit import TOYS, rewrite_manifest, synthetic_series, write_toy
from reliability_kit import (
    Running,
    assert_still_serving,
    can_run_as_nobody,
    publish_broken,
    refusal,
    run_app,
    wait_for,
)


@pytest.fixture(scope="module", autouse=True)
def as_nobody() -> None:
    """Skip, saying why, where the server cannot run as nobody (checked once, when selected)."""
    why_not = can_run_as_nobody()
    if why_not is not None:
        pytest.skip(f"cannot demonstrate unreadable files: {why_not}")


def lock_files(version_dir: Path) -> None:
    for path in version_dir.iterdir():
        path.chmod(0o000)


def lock_directory(version_dir: Path) -> None:
    version_dir.chmod(0o000)


def unlock(version_dir: Path) -> None:
    version_dir.chmod(0o755)
    for path in version_dir.iterdir():
        path.chmod(0o644)


@contextmanager
def readable_copy(toy_models: Path) -> Iterator[Path]:
    """A copy of the toy models `nobody` can reach (pytest's temporary directories are 0700),
    removed afterwards whatever the test locked in it."""
    root = Path(tempfile.mkdtemp(prefix="reliability-perms-"))
    models = Path(shutil.copytree(toy_models, root / "models"))
    for directory in (root, models):
        directory.chmod(0o755)
    try:
        yield models
    finally:
        for directory in [models, *models.glob("*"), *models.glob("*/*")]:
            if directory.is_dir():
                directory.chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)


def polling_env(models: Path) -> dict[str, str]:
    return {
        "FORECAST_MODEL_DIR": str(models),
        "FORECAST_DEFAULT_MODEL": "toy",
        "FORECAST_POLL_SECONDS": "0.1",
    }


@pytest.fixture(scope="module")
def models(toy_models: Path) -> Iterator[Path]:
    with readable_copy(toy_models) as copy:
        yield copy


@pytest.fixture
def own_models(toy_models: Path) -> Iterator[Path]:
    """A fresh copy for a server of its own (these tests lock whole model directories)."""
    with readable_copy(toy_models) as copy:
        yield copy


@pytest.fixture(scope="module")
def running(models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with run_app(polling_env(models), log, as_nobody=True) as server:
        yield server


@pytest.mark.parametrize("lock", [lock_files, lock_directory], ids=["files-000", "directory-000"])
def test_an_unreadable_version_is_refused_with_the_reason_and_served_once_readable(
    running: Running, models: Path, lock: Callable[[Path], None]
) -> None:
    version = publish_broken(models / "toy", lock)
    wait_for(
        lambda: "Permission denied" in (refusal(running, "toy", version) or ""),
        15,
        f"version {version} not refused for permissions",
    )
    assert_still_serving(running, version=version - 1)
    logged = [r for r in running.records() if r.get("version") == version and "reason" in r]
    assert logged and "Permission denied" in logged[-1]["reason"]

    unlock(models / "toy" / str(version))
    answer = httpx.post(f"{running.url}/v1/models/toy/reload", timeout=30).json()
    assert (answer["version"], answer["refused"]) == (version, {}), answer
    assert_still_serving(running, version=version)


def test_an_unreadable_model_directory_refuses_that_model_only(
    own_models: Path, toy_models: Path, tmp_path: Path
) -> None:
    """At start and while serving: the other models are served and still polled."""
    shutil.copytree(own_models / "toy", own_models / "locked")
    rewrite_manifest(own_models / "locked" / "1", name="locked")
    (own_models / "locked").chmod(0o000)
    with run_app(polling_env(own_models), tmp_path / "server.log", as_nobody=True) as running:
        locked = running.models()["locked"]
        assert locked["state"] == "failed" and "Permission denied" in locked["reason"]
        assert_still_serving(running)

        (own_models / "toy").chmod(0o000)  # now the default model's directory, while served
        version = next_version_of(toy_models, own_models / "toy-diff")
        wait_for(lambda: running.models()["toy-diff"]["version"] == version, 15, "poll stuck")
        assert_still_serving(running)  # from memory
        assert running.models()["toy"]["versions_on_disk"] == []


def test_an_unreadable_model_root_at_start_is_not_ready_then_ready_once_readable(
    own_models: Path, tmp_path: Path
) -> None:
    own_models.chmod(0o700)  # root's, so nobody cannot list it
    env = polling_env(own_models)
    with run_app(env, tmp_path / "server.log", wait_path="/health", as_nobody=True) as running:
        assert httpx.get(f"{running.url}/ready").status_code == 503
        logged = [r["message"] for r in running.records()]
        assert any("Permission denied" in m and str(own_models) in m for m in logged), logged
        own_models.chmod(0o755)
        wait_for(lambda: httpx.get(f"{running.url}/ready").status_code == 200, 15, "not ready")
        assert_still_serving(running)


def next_version_of(toy_models: Path, model_dir: Path) -> int:
    """Publish the next valid version of `toy-diff` (as training would) and return its number."""
    keras = toy_models / "toy-diff" / "1" / "model.keras"
    return int(write_toy(model_dir.parent, TOYS[1], keras, synthetic_series()).name)

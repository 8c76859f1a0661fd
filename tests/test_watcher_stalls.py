"""A watcher that cannot be stalled: a load that hangs (a FIFO being hashed, a slow disk) holds up
neither startup, nor polling or reloads of other models, nor forecasts.

The hang is a real one: a loader that waits on a `threading.Event` for one version directory
before doing the real load, as hashing a FIFO waits for a writer. Every wait in these tests is
bounded, so on code that stalls they fail instead of hanging.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from modelkit import rewrite_manifest, synthetic_series

from app.main import create_app
from app.registry import Loader, Registry, ServedVersion, version_loader
from app.settings import Settings
from app.watcher import ModelWatcher

SERIES = [float(v) for v in synthetic_series(24)]
BOUND = 10  # seconds: generous; these calls answer in milliseconds to about one second
T = TypeVar("T")


def served(client: TestClient, name: str = "toy") -> int | None:
    models = {m["name"]: m for m in client.get("/v1/models").json()}
    return models[name]["version"] if name in models else None


def wait_for(condition: Callable[[], bool], seconds: float = BOUND) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class Gate:
    """A loader that hangs on one version directory until `open()`, then loads it for real."""

    def __init__(self, load: Loader, stuck: Path) -> None:
        self.load, self.stuck = load, stuck
        self.entered = threading.Event()
        self._opened = threading.Event()

    def __call__(self, version_dir: Path) -> ServedVersion:
        if version_dir == self.stuck:
            self.entered.set()
            self._opened.wait(60)  # a bound only so that a failed test cannot leak the thread
        return self.load(version_dir)

    def open(self) -> None:
        self._opened.set()


def publish(model_dir: Path, version: int) -> Path:
    """A copy of version 1 renumbered `version`, appearing at once (like training's writer)."""
    staging = model_dir / f".staging-{version}"
    shutil.copytree(model_dir / "1", staging)
    rewrite_manifest(staging, version=version)
    return staging.rename(model_dir / str(version))


def within(seconds: float, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call(*args, **kwargs)`, failing the test if it has not returned after `seconds`."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call, *args, **kwargs).result(timeout=seconds)
    except FutureTimeout:
        pytest.fail(f"no answer within {seconds} s: {getattr(call, '__name__', call)}{args}")
    finally:
        pool.shutdown(wait=False)


@pytest.fixture
def background() -> Iterator[Callable[..., Future[Any]]]:
    """Run calls that may hang (on code that stalls) without waiting for them."""
    pool = ThreadPoolExecutor(4)
    yield pool.submit
    pool.shutdown(wait=True)  # after the gate opened: every hung call has finished by then


def gated_app(models_dir: Path, poll_seconds: float) -> Iterator[tuple[TestClient, Gate]]:
    """The app, loading with a loader that hangs on `toy` version 2 until the gate opens."""
    settings = Settings(
        model_dir=models_dir, default_model="toy", poll_seconds=poll_seconds, load_wait_seconds=1
    )
    with TestClient(create_app(settings)) as client:
        registry: Registry = client.app.state.registry  # type: ignore[attr-defined]
        gate = Gate(registry._load_version, models_dir / "toy" / "2")
        registry._load_version = gate  # type: ignore[method-assign]
        try:
            yield client, gate
        finally:
            gate.open()


@pytest.fixture
def polling_gated(models_dir: Path) -> Iterator[tuple[TestClient, Gate]]:
    yield from gated_app(models_dir, poll_seconds=0.05)


@pytest.fixture
def gated(models_dir: Path) -> Iterator[tuple[TestClient, Gate]]:
    yield from gated_app(models_dir, poll_seconds=0)


def test_a_stuck_load_holds_up_no_other_model_and_no_forecast(
    models_dir: Path,
    background: Callable[..., Future[Any]],  # first: torn down after the gate opens
    polling_gated: tuple[TestClient, Gate],
) -> None:
    client, gate = polling_gated
    publish(models_dir / "toy", 2)
    assert gate.entered.wait(BOUND), "the poll never started loading toy version 2"
    hung = [background(client.post, "/v1/models/toy/reload") for _ in range(2)]

    publish(models_dir / "toy-diff", 2)  # polling goes on for the other model
    wait_for(lambda: within(BOUND, served, client, "toy-diff") == 2, BOUND)
    reloaded = within(BOUND, client.post, "/v1/models/toy-diff/reload")
    assert reloaded.status_code == 200 and reloaded.json()["version"] == 2
    for name, version in (("toy-diff", 2), ("toy", 1)):  # horizon 9 runs in the thread pool
        body = {"values": SERIES, "horizon": 9}
        answer = within(BOUND, client.post, f"/v1/models/{name}/predict", json=body)
        assert answer.status_code == 200 and answer.json()["version"] == version, answer.text
    assert [r.result(BOUND).status_code for r in hung] == [202, 202]

    gate.open()
    wait_for(lambda: served(client) == 2, BOUND)


def test_reloading_a_stuck_model_answers_within_the_wait_and_the_load_goes_on(
    models_dir: Path, gated: tuple[TestClient, Gate]
) -> None:
    client, gate = gated
    publish(models_dir / "toy", 2)
    for _ in range(2):  # the second joins the load in progress instead of starting another
        answer = within(BOUND, client.post, "/v1/models/toy/reload")
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert (body["name"], body["state"], body["version"]) == ("toy", "loading", 1)
        assert "still loading" in body["detail"]
    assert served(client) == 1

    gate.open()
    wait_for(lambda: served(client) == 2, BOUND)
    answer = within(BOUND, client.post, "/v1/models/toy/reload")
    assert answer.status_code == 200 and answer.json()["version"] == 2


def test_startup_waits_a_bounded_time_for_each_model_then_loads_on_in_the_background(
    models_dir: Path,
) -> None:
    publish(models_dir / "toy", 2)
    gate = Gate(version_loader(0.5), models_dir / "toy" / "2")
    registry = Registry(models_dir, gate)
    watcher = ModelWatcher(registry, 0, load_wait_seconds=0.5)
    try:
        within(BOUND, watcher.load_all)
        toy = registry.state("toy")
        assert (toy.status, toy.served) == ("loading", None)
        assert "still loading" in (toy.reason or "")
        assert registry.served("toy-diff").version == 1
    finally:
        gate.open()
    wait_for(lambda: registry.state("toy").ready, BOUND)
    assert registry.served("toy").version == 2

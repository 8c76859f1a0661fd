"""Hot reload: new versions are verified, warmed up and swapped in without a failed request; bad
versions are reported while the served one keeps serving; removals never crash anything."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from modelkit import clone_version, publish_good, rewrite_manifest, synthetic_series

from app.main import create_app
from app.registry import Registry, version_loader
from app.settings import Settings
from app.watcher import ModelWatcher, fingerprint

SERIES = [float(v) for v in synthetic_series(24)]


def publish_corrupt(model_dir: Path, version: int) -> Path:
    """A copy of version 1 renumbered, its scaler tampered, appearing at once (like training)."""
    staging = model_dir / f".staging-{version}"
    shutil.copytree(model_dir / "1", staging)
    rewrite_manifest(staging, version=version)
    (staging / "scaler.joblib").write_bytes(b"tampered")
    return staging.rename(model_dir / str(version))


@pytest.fixture
def polling(models_dir: Path) -> Iterator[TestClient]:
    settings = Settings(model_dir=models_dir, default_model="toy", poll_seconds=0.02)
    with TestClient(create_app(settings)) as client:
        yield client


def served(client: TestClient, name: str = "toy") -> int | None:
    models = {m["name"]: m for m in client.get("/v1/models").json()}
    return models[name]["version"] if name in models else None


def refused(client: TestClient, name: str = "toy") -> dict[str, str]:
    models = {m["name"]: m for m in client.get("/v1/models").json()}
    return dict(models[name]["refused"]) if name in models else {}


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_corrupt_newest_version_is_reported_and_the_served_one_stays(
    client: TestClient, models_dir: Path
) -> None:
    publish_corrupt(models_dir / "toy", 2)
    answer = client.post("/v1/models/toy/reload").json()
    assert (answer["version"], answer["swapped"], answer["state"]) == (1, False, "ready")
    assert "sha256" in answer["refused"]["2"]
    status = {m["name"]: m for m in client.get("/v1/models").json()}["toy"]
    assert status["version"] == 1 and "sha256" in status["refused"]["2"]
    assert client.post("/v1/predict", json={"values": SERIES}).status_code == 200


def test_a_new_model_name_is_picked_up_by_reload_and_by_polling(
    models_dir: Path, polling: TestClient, client: TestClient
) -> None:
    shutil.copytree(models_dir / "toy", models_dir / ".staging")
    rewrite_manifest(models_dir / ".staging" / "1", name="fresh")
    (models_dir / ".staging").rename(models_dir / "fresh")
    assert client.post("/v1/models/fresh/reload").json()["version"] == 1
    wait_for(lambda: served(polling, "fresh") == 1)
    assert polling.post("/v1/models/fresh/predict", json={"values": SERIES}).status_code == 200


def test_deleting_the_served_version_rolls_back_to_the_previous_one(
    client: TestClient, models_dir: Path
) -> None:
    clone_version(models_dir / "toy", 1, 2)
    assert client.post("/v1/models/toy/reload").json()["version"] == 2
    shutil.rmtree(models_dir / "toy" / "2")
    answer = client.post("/v1/models/toy/reload").json()
    assert (answer["version"], answer["previous_version"], answer["swapped"]) == (1, 2, True)


def test_deleting_every_version_keeps_serving_from_memory(
    client: TestClient, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(models_dir / "toy")
    answer = client.post("/v1/models/toy/reload").json()
    assert (answer["version"], answer["versions_on_disk"], answer["state"]) == (1, [], "ready")
    assert "served from memory" in capsys.readouterr().out
    assert client.post("/v1/predict", json={"values": SERIES}).json()["version"] == 1
    assert client.get("/v1/models/toy/report.png").status_code == 200


def test_polling_swaps_in_good_versions_and_tries_a_bad_one_once(
    models_dir: Path, polling: TestClient, keras_file: Path
) -> None:
    watcher: ModelWatcher = polling.app.state.watcher  # type: ignore[attr-defined]
    calls: list[Path] = []
    load = watcher.registry._load_version
    watcher.registry._load_version = lambda path: calls.append(path) or load(path)  # type: ignore[method-assign]
    publish_corrupt(models_dir / "toy", 2)
    wait_for(lambda: bool(served(polling) == 1 and polling.get("/v1/models").json()[0]["refused"]))
    time.sleep(0.2)  # ten more polls
    assert calls == [models_dir / "toy" / "2"]
    version = publish_good(models_dir, keras_file)
    wait_for(lambda: served(polling) == version)


def test_a_version_copied_in_slowly_is_retried_once_complete(
    models_dir: Path, keras_file: Path
) -> None:
    """`cp -r` is not atomic: a poll may see half a directory; the finished copy is retried."""
    registry = Registry(models_dir, version_loader(0.5))
    watcher = ModelWatcher(registry, poll_seconds=0)
    watcher.load_all()
    half = models_dir / "toy" / "2"
    half.mkdir()
    (half / "model.keras").write_bytes(keras_file.read_bytes())
    watcher.poll()
    assert "manifest" in registry.state("toy").failures[2]
    shutil.rmtree(half)
    clone_version(models_dir / "toy", 1, 2)
    (reloaded,) = watcher.poll()
    assert reloaded.version == 2 and watcher.poll() == []


@pytest.mark.parametrize("file", ["scaler.joblib", "model.keras"])
def test_a_version_fixed_in_place_is_picked_up_by_the_next_poll(
    models_dir: Path, file: str
) -> None:
    """A bad file replaced by the good one, manifest and directory untouched (same size, too)."""
    registry = Registry(models_dir, version_loader(0.5))
    watcher = ModelWatcher(registry, poll_seconds=0)
    watcher.load_all()
    version = clone_version(models_dir / "toy", 1, 2)
    good = (version / file).read_bytes()
    (version / file).write_bytes(bytes([good[0] ^ 1]) + good[1:])  # one bit flipped in place
    (refused,) = watcher.poll()
    assert refused.version == 1 and "sha256" in refused.state.failures[2]
    assert watcher.poll() == []

    (version / file).write_bytes(good)  # fixed in place
    (reloaded,) = watcher.poll()
    assert reloaded.version == 2 and reloaded.state.failures == {}


def test_reloading_a_refused_version_that_has_not_changed_logs_it_once(
    client: TestClient, models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = publish_corrupt(models_dir / "toy", 2)

    def warnings() -> int:
        prefix = "refused model toy version 2:"
        return sum(r.getMessage().startswith(prefix) for r in caplog.records)

    for _ in range(50):
        answer = client.post("/v1/models/toy/reload").json()
        assert answer["version"] == 1 and "sha256" in answer["refused"]["2"]
    assert warnings() == 1

    (version / "scaler.joblib").write_bytes(b"tampered again")  # changed: verified again
    answer = client.post("/v1/models/toy/reload").json()
    assert answer["version"] == 1 and "sha256" in answer["refused"]["2"]
    assert warnings() == 2


def test_fingerprints_change_with_versions_and_manifests(models_dir: Path) -> None:
    before = fingerprint(models_dir / "toy")
    assert fingerprint(models_dir / "toy") == before and [v[0] for v in before] == [1]
    clone_version(models_dir / "toy", 1, 2)
    assert [v[0] for v in fingerprint(models_dir / "toy")] == [1, 2]
    assert fingerprint(models_dir / "absent") == ()


def test_polling_off_starts_no_thread(models_dir: Path) -> None:
    watcher = ModelWatcher(Registry(models_dir, version_loader(0.5)), poll_seconds=0)
    threads = threading.active_count()
    watcher.start()
    assert threading.active_count() == threads
    watcher.stop()


def test_hammering_predict_while_versions_appear_never_fails(
    models_dir: Path, polling: TestClient, keras_file: Path
) -> None:
    """Four threads forecast non-stop while good and corrupt versions land on disk."""
    stop = threading.Event()
    seen: list[list[int]] = [[] for _ in range(4)]
    failures: list[object] = []

    def hammer(versions: list[int]) -> None:
        while not stop.is_set():
            response = polling.post("/v1/predict", json={"values": SERIES, "horizon": 3})
            if response.status_code != 200:
                failures.append((response.status_code, response.text))
            else:
                versions.append(response.json()["version"])

    threads = [threading.Thread(target=hammer, args=(v,)) for v in seen]
    for thread in threads:
        thread.start()
    try:
        steps: list[Callable[[], object]] = [
            lambda: publish_good(models_dir, keras_file),  # 2
            lambda: publish_corrupt(models_dir / "toy", 3),
            lambda: publish_good(models_dir, keras_file),  # 4
            lambda: publish_corrupt(models_dir / "toy", 5),
            lambda: (models_dir / "toy" / "6").mkdir(),  # an empty, half-made directory
        ]
        for step in steps:
            time.sleep(0.15)
            step()
        wait_for(
            lambda: (
                served(polling) == 4
                and all(v and v[-1] == 4 for v in seen)
                and set(refused(polling)) == {"5", "6"}
            )  # the poller has seen the last step
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert all(v == sorted(v) for v in seen), "a thread saw an older version after a newer one"
    assert {1, 2, 4} <= {version for v in seen for version in v}
    assert set(refused(polling)) == {"5", "6"}

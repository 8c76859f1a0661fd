"""Which model versions are served: scans `<model_dir>/<name>/<version>/`, loads, verifies, swaps.

For every model name the newest version that passes verification is served;
each version that fails is logged with its reason, recorded in the model's
state, and skipped, so an older valid version keeps the model available. A
broken directory never takes the service down.

State is published by replacing one immutable `ModelState` per name under a
lock (`swap`). Requests hold the `ServedVersion` they started with, so a later
swap (hot reload) never changes a forecast mid-request.

A refusal is remembered with the version's fingerprint (`app.fingerprints`):
until something in that directory changes, loading the model again reports the
same reason without reading, hashing or logging the version again, so fifty
reloads of a model with a broken newest version log one warning, not fifty.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app import metrics
from app.contract.store import list_versions
from app.errors import ArtifactError, ModelNotFound, ModelNotReady
from app.fingerprints import VersionPrint, version_print
from app.forecaster import Forecaster, load_forecaster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedVersion:
    """A loaded version: its forecaster and its verified report plot (if it has one)."""

    forecaster: Forecaster
    report: bytes | None = None

    @property
    def version(self) -> int:
        return self.forecaster.version


@dataclass(frozen=True)
class ModelState:
    """What the registry knows about one model name at one moment."""

    name: str
    versions: tuple[int, ...] = ()  # on disk, oldest first
    served: ServedVersion | None = None
    failures: dict[int, str] = field(default_factory=dict)  # version -> why it was refused
    unlisted: str | None = None  # why the model's directory itself could not be read
    loading: bool = False  # a placeholder: the model's first load has not finished yet

    @property
    def ready(self) -> bool:
        return self.served is not None

    @property
    def reason(self) -> str | None:
        """Why the model is not served, or None when it is."""
        if self.served is not None:
            return None
        if self.loading:
            return "still loading: its first load has not finished"
        if self.unlisted is not None:
            return self.unlisted
        if not self.failures:
            return "no versions on disk"
        return "; ".join(f"version {v}: {why}" for v, why in sorted(self.failures.items()))

    @property
    def status(self) -> Literal["ready", "loading", "failed"]:
        """How the API names the state: served, being loaded for the first time, or failed
        with `reason`."""
        if self.served is not None:
            return "ready"
        return "loading" if self.loading else "failed"

    def require_served(self) -> ServedVersion:
        """The version to answer with, or ModelNotReady (503) saying why there is none."""
        if self.served is None:
            raise ModelNotReady(f"model {self.name!r} is not ready: {self.reason}")
        return self.served


Loader = Callable[[Path], ServedVersion]
Refusals = dict[int, tuple[VersionPrint, str]]  # version -> (its fingerprint, why it was refused)

TRANSIENT = (MemoryError, OSError)
"""Refusals that say more about the moment than about the files: not remembered, so retried."""


class Registry:
    """Thread-safe map from model name to `ModelState`, filled from a model directory."""

    def __init__(self, root: Path, loader: Loader) -> None:
        self.root = root
        self._load_version = loader
        self._models: dict[str, ModelState] = {}
        self._lock = threading.Lock()
        self._refused: dict[str, Refusals] = {}  # per name, replaced whole by each load

    def load(self, name: str, current: ServedVersion | None = None) -> ModelState:
        """Newest verifying version of `name`, with reasons for the newer ones refused.

        Builds a state without publishing it: `swap` does that, so a version is
        fully loaded and verified before it replaces the one being served.
        `current` (the version being served, on a reload) is reused rather than
        read again when the search reaches its number, and so is a refusal of a
        version whose fingerprint has not changed since. Loads of one name must
        not run at once (the watcher runs one at a time per name); loads of
        different names may.
        """
        try:
            versions = tuple(list_versions(self.root / name))
        except OSError as exc:  # e.g. permissions: refuses this model, never the service
            reason = f"cannot list {self.root / name}: {exc.strerror or exc}"
            metrics.record_load_failure(name, exc)
            log.warning(
                "refused model %s: %s", name, reason, extra={"model": name, "reason": reason}
            )
            return ModelState(name, unlisted=reason)
        remembered, refused = self._refused.get(name, {}), Refusals()
        self._refused[name] = refused  # only the versions this search refuses stay remembered
        failures: dict[int, str] = {}
        for version in reversed(versions):
            if current is not None and version == current.version:
                return ModelState(name, versions, current, failures)
            path = self.root / name / str(version)
            seen = version_print(path)  # before reading: a change while loading shows next time
            known = remembered.get(version)
            if known is not None and known[0] == seen:  # refused before and unchanged since
                refused[version], failures[version] = known, known[1]
                continue
            try:
                served = self._load_version(path)
            except Exception as exc:  # any failure refuses this version, never the service
                failures[version] = reason = str(exc) or type(exc).__name__
                if not isinstance(exc, TRANSIENT):
                    refused[version] = (seen, reason)
                metrics.record_load_failure(name, exc)
                where = {"model": name, "version": version, "reason": reason}
                log.warning("refused model %s version %s: %s", name, version, reason, extra=where)
                continue
            where = {"model": name, "version": version}
            log.info("loaded model %s version %s", name, version, extra=where)
            return ModelState(name, versions, served, failures)
        return ModelState(name, versions, None, failures)

    def add_loading(self, name: str) -> None:
        """Publish `name` as loading when nothing is published for it yet: a model whose first
        load takes long is listed, and refused with that reason, instead of being unknown."""
        with self._lock:
            self._models.setdefault(name, ModelState(name, loading=True))

    def swap(self, state: ModelState) -> ModelState | None:
        """Publish `state` for its name atomically; returns the state it replaced."""
        with self._lock:
            previous = self._models.get(state.name)
            self._models[state.name] = state
        return previous

    def states(self) -> list[ModelState]:
        """Every model's state, by name."""
        with self._lock:
            return [self._models[name] for name in sorted(self._models)]

    def state(self, name: str) -> ModelState:
        with self._lock:
            found = self._models.get(name)
            known = list(self._models)
        if found is None:
            raise ModelNotFound.named(name, known)
        return found

    def served(self, name: str) -> ServedVersion:
        """The version to answer with, or ModelNotFound (404) / ModelNotReady (503)."""
        return self.state(name).require_served()

    def names_on_disk(self) -> list[str]:
        """Model names with a directory under the root now (hidden directories excluded)."""
        return _model_names(self.root)


def _model_names(root: Path) -> list[str]:
    try:
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:  # unreadable (permissions): nothing to serve yet, like a missing root
        reason = exc.strerror or str(exc)
        log.warning(
            "cannot list the model directory %s: %s", root, reason, extra={"reason": reason}
        )
        return []


def version_loader(margin: float) -> Loader:
    """The production loader: verify, load, check the directory matches its manifest."""

    def load(version_dir: Path) -> ServedVersion:
        forecaster = load_forecaster(version_dir, margin)
        where = (version_dir.parent.name, int(version_dir.name))
        if (forecaster.name, forecaster.version) != where:
            raise ArtifactError(
                f"manifest says {forecaster.name!r} version {forecaster.version},"
                f" but the directory is {where[0]!r} version {where[1]}"
            )
        return ServedVersion(forecaster, forecaster.verified.report)  # verified with the rest

    return load

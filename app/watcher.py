"""Hot reload: keep the registry in step with the model directory, on request and by polling.

Each model directory has a cheap fingerprint (`app.fingerprints`: `lstat` of
every version directory and every file in it, nothing opened). Polling compares
fingerprints and reloads only the models whose directory changed, so an
unchanged directory costs a `listdir` and a few `lstat`s per poll, a refused
version is not retried (nor counted again) until something in it changes, and a
version fixed in place (a bad file replaced by the good one) is tried again.

A reload builds the new state off to the side (`Registry.load`: verify, load,
warm up; the served version is reused, not read again) and publishes it with
one `swap`, so requests that already hold the old `ServedVersion` finish on it.
The rule is the registry's: serve the newest version that verifies. Two
consequences an operator sees: deleting the served version's directory rolls
back to the newest older version that verifies; and when no version on disk
verifies (all removed, or all refused), the version in memory keeps serving and
the log says so, while `/v1/models` shows it missing from `versions_on_disk`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from app import metrics
from app.errors import ModelNotFound
from app.fingerprints import ModelPrint
from app.fingerprints import model_print as fingerprint
from app.registry import ModelState, Registry, ServedVersion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reloaded:
    """What a reload did: the state now published and the version served before it."""

    state: ModelState
    previous: int | None

    @property
    def version(self) -> int | None:
        return self.state.served.number if self.state.served else None

    @property
    def swapped(self) -> bool:
        return self.version != self.previous


class ModelWatcher:
    """Reloads models at start, on request (`reload`) and every `poll_seconds` (`start`)."""

    def __init__(self, registry: Registry, poll_seconds: float) -> None:
        self.registry = registry
        self.poll_seconds = poll_seconds
        self._seen: dict[str, ModelPrint] = {}
        self._lock = threading.Lock()  # one reload at a time: swaps happen in load order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load_all(self) -> None:
        """The startup load: every model on disk, refusals logged, nothing raised."""
        names = self.registry.names_on_disk()
        if not names:
            log.warning("no models under %s", self.registry.root.resolve())
        for name in names:
            self._reload(name, "startup")

    def reload(self, name: str) -> Reloaded:
        """Load the newest version of `name` now; ModelNotFound if neither served nor on disk."""
        known = {state.name for state in self.registry.states()}
        on_disk = self.registry.names_on_disk()
        if name not in known and name not in on_disk:
            raise ModelNotFound.named(name, known | set(on_disk))
        return self._reload(name, "request")

    def poll(self) -> list[Reloaded]:
        """Reload every model whose directory changed (new, changed or removed versions)."""
        known = {state.name for state in self.registry.states()}
        names = sorted(known | set(self.registry.names_on_disk()))
        root = self.registry.root
        return [
            self._reload(name, "poll")
            for name in names
            if fingerprint(root / name) != self._seen.get(name)
        ]

    def start(self) -> None:
        """Poll in a daemon thread until `stop`; loading blocks, so not on the event loop."""
        if self.poll_seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop polling; waits for a load in progress up to `timeout` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # the watcher must outlive any surprise; the next poll retries
                log.exception("polling %s for model changes failed", self.registry.root)

    def _reload(self, name: str, cause: str) -> Reloaded:
        with self._lock:
            seen = fingerprint(self.registry.root / name)
            previous = self._served(name)
            state = self.registry.load(name, previous)
            if state.served is None and previous is not None:
                state = replace(state, served=previous)  # keep serving from memory
            self.registry.swap(state)
            self._seen[name] = seen
        outcome = Reloaded(state, previous.number if previous else None)
        metrics.record_served(name, outcome.version)
        _report(outcome, cause)
        return outcome

    def _served(self, name: str) -> ServedVersion | None:
        try:
            return self.registry.state(name).served
        except ModelNotFound:
            return None


def _report(outcome: Reloaded, cause: str) -> None:
    """Log a change of served version, and a version served only from memory."""
    state, version = outcome.state, outcome.version
    where: dict[str, object] = {
        "model": state.name,
        "version": version,
        "previous_version": outcome.previous,
    }
    if outcome.swapped and cause != "startup":
        message = "model %s now serves version %s (was %s; %s)"
        extra = {**where, "cause": cause, "refused": state.failures or None}
        log.info(message, state.name, version, outcome.previous, cause, extra=extra)
    if version is not None and version not in state.versions:
        message = "model %s version %s is served from memory: no version on disk verifies"
        extra = {**where, "versions_on_disk": list(state.versions)}
        log.warning(message, state.name, version, extra=extra)

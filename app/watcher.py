"""Hot reload: keep the registry in step with the model directory, on request and by polling.

Each model directory has a cheap fingerprint (`app.fingerprints`: `lstat` of
every version directory and every file in it, nothing opened). Polling compares
fingerprints and reloads only the models whose directory changed, so an
unchanged directory costs a `listdir` and a few `lstat`s per poll, and a version
fixed in place (a bad file replaced by the good one) is tried again. A refused
version is not read, counted or logged again until something in it changes
(the registry remembers refusals by the same fingerprints).

A reload builds the new state off to the side (`Registry.load`: verify, load,
warm up; the served version is reused, not read again) and publishes it with
one `swap`, so requests that already hold the old `ServedVersion` finish on it.
The rule is the registry's: serve the newest version that verifies. Two
consequences an operator sees: deleting the served version's directory rolls
back to the newest older version that verifies; and when no version on disk
verifies (all removed, or all refused), the version in memory keeps serving and
the log says so, while `/v1/models` shows it missing from `versions_on_disk`.

Nothing waits for a load without a bound. Loads run on threads of the watcher's
own (`app.loads`: one at a time per model, models in parallel), never on the
forecast threads; startup and reload requests wait for them at most
`load_wait_seconds`, and the polling thread not at all. So a load that hangs (a
FIFO being hashed) holds up only its own model: startup goes on and lists it as
loading, polls skip it until its load ends, a reload request answers that it is
still loading, and the log says so once the wait is over.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, wait
from dataclasses import dataclass, replace

from app import metrics
from app.errors import ModelNotFound
from app.fingerprints import ModelPrint
from app.fingerprints import model_print as fingerprint
from app.loads import SerialLoads
from app.registry import ModelState, Registry, ServedVersion

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reloaded:
    """What a reload did: the state now published and the version served before it."""

    state: ModelState
    previous: int | None

    @property
    def version(self) -> int | None:
        return self.state.served.version if self.state.served else None

    @property
    def swapped(self) -> bool:
        return self.version != self.previous


class ModelWatcher:
    """Reloads models at start, on request (`reload`) and every `poll_seconds` (`start`)."""

    def __init__(
        self, registry: Registry, poll_seconds: float, load_wait_seconds: float = 10
    ) -> None:
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.load_wait_seconds = load_wait_seconds
        self._seen: dict[str, ModelPrint] = {}
        self._loads = SerialLoads(self._load)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load_all(self) -> None:
        """The startup load: every model on disk at once, refusals logged, nothing raised.

        Returns after `load_wait_seconds` at most: a model still loading then is
        published as loading (not ready, with that reason) and served once its
        load ends, so one model that hangs does not keep the service from starting.
        """
        names = self.registry.names_on_disk()
        if not names:
            log.warning("no models under %s", self.registry.root.resolve())
        self._wait({name: self._loads.submit(name, "startup") for name in names})

    def reload(self, name: str) -> Future[Reloaded]:
        """A load of the newest version of `name` that starts now, or right after the one in
        progress; ModelNotFound at once if `name` is neither known nor on disk. Called on the
        event loop: the disk is listed only for a name the registry does not know."""
        known = {state.name for state in self.registry.states()}
        if name not in known:
            on_disk = self.registry.names_on_disk()
            if name not in on_disk:
                raise ModelNotFound.named(name, known | set(on_disk))
        return self._loads.submit(name, "request")

    def poll(self) -> list[Reloaded]:
        """Reload every model whose directory changed (new, changed or removed versions), and
        return the outcomes of the loads that end within `load_wait_seconds`."""
        return self._wait(self._start_changed())

    def _start_changed(self) -> dict[str, Future[Reloaded]]:
        """Start a load of every model whose directory changed; a model whose load is still in
        progress is skipped (and looked at again once that load has ended)."""
        known = {state.name for state in self.registry.states()}
        names = sorted(known | set(self.registry.names_on_disk()))
        root = self.registry.root
        started = {
            name: self._loads.start_if_idle(name, "poll")
            for name in names
            if fingerprint(root / name) != self._seen.get(name)
        }
        return {name: future for name, future in started.items() if future is not None}

    def start(self) -> None:
        """Poll in a daemon thread until `stop`: fingerprints take system calls, so not on the
        event loop; the loads a poll starts run on threads of their own, waited for by nobody."""
        if self.poll_seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop polling; waits for a poll in progress up to `timeout` seconds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._start_changed()  # no wait: each load publishes and logs its own outcome
            except Exception:  # the watcher must outlive any surprise; the next poll retries
                log.exception("polling %s for model changes failed", self.registry.root)

    def _wait(self, loads: dict[str, Future[Reloaded]]) -> list[Reloaded]:
        """The outcomes, by name, of the loads that end within `load_wait_seconds`; the others go
        on in the background."""
        if loads:
            wait(loads.values(), timeout=self.load_wait_seconds)
        return [future.result() for _, future in sorted(loads.items()) if future.done()]

    def _load(self, name: str, cause: str) -> Reloaded:
        """One load of `name`, published; run by `SerialLoads`, one at a time per name."""
        self.registry.add_loading(name)  # a model seen for the first time is listed as loading
        seen = fingerprint(self.registry.root / name)
        previous = self.served(name)
        slow = threading.Timer(self.load_wait_seconds, _still_loading, (name, cause, self))
        slow.daemon = True
        slow.start()
        try:
            state = self.registry.load(name, previous)
        finally:
            slow.cancel()
        if state.served is None and previous is not None:
            state = replace(state, served=previous)  # keep serving from memory
        self.registry.swap(state)
        self._seen[name] = seen
        outcome = Reloaded(state, previous.version if previous else None)
        metrics.record_served(name, outcome.version)
        _report(outcome, cause)
        return outcome

    def served(self, name: str) -> ServedVersion | None:
        """The version of `name` served now, if any."""
        try:
            return self.registry.state(name).served
        except ModelNotFound:
            return None


def _still_loading(name: str, cause: str, watcher: ModelWatcher) -> None:
    """Say that a load outlasts the wait, once, whoever waits for it (or nobody, for a poll)."""
    message = "model %s is still loading after %g s (%s): going on without waiting for it"
    extra = {"model": name, "cause": cause}
    log.warning(message, name, watcher.load_wait_seconds, cause, extra=extra)


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

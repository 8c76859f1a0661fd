"""One load at a time per model name, each on a thread of its own, never on the forecast threads.

A load can hang: hashing a FIFO waits for a writer, a network disk can stall.
A hung load must hold up nothing but later loads of its own model, so every
name gets its own thread while it loads (threads are bounded by the number of
model names), and nothing here ever waits for a load: callers get a `Future`
and choose how long to wait for it. Loads of one name run one after another,
so swaps of one model happen in load order.

Requests for a name whose load is running share one follow-up load, started
when the running one ends: it reads the directory as it is by then, which is
what each of those requests asked for, so a burst of reloads costs one load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class SerialLoads(Generic[T]):
    """Runs `work(name, cause)` on a thread per name, one at a time per name."""

    def __init__(self, work: Callable[[str, str], T]) -> None:
        self._work = work
        self._guard = threading.Lock()
        self._running: dict[str, Future[T]] = {}
        self._next: dict[str, tuple[Future[T], str]] = {}

    def submit(self, name: str, cause: str) -> Future[T]:
        """A load of `name` that reads the directory after this call: started now when none
        of `name` runs, else the follow-up that starts when the running one ends."""
        with self._guard:
            if name in self._running:
                if name not in self._next:
                    self._next[name] = (_running_future(), cause)
                return self._next[name][0]
            future = self._running[name] = _running_future()
        self._start(name, cause, future)
        return future

    def start_if_idle(self, name: str, cause: str) -> Future[T] | None:
        """A load of `name` started now, or None when one is already running (it is skipped,
        not queued: a poll looks again once it has ended)."""
        with self._guard:
            if name in self._running:
                return None
            future = self._running[name] = _running_future()
        self._start(name, cause, future)
        return future

    def _start(self, name: str, cause: str, future: Future[T]) -> None:
        thread = threading.Thread(
            target=self._run, args=(name, cause, future), name=f"load-{name}", daemon=True
        )
        thread.start()

    def _run(self, name: str, cause: str, future: Future[T]) -> None:
        while True:
            try:
                future.set_result(self._work(name, cause))
            except BaseException as exc:  # this thread must go on to the follow-up, whatever
                # logged here too: nobody waits for a load that a poll started
                log.exception("loading model %s failed", name, extra={"model": name})
                future.set_exception(exc)
            with self._guard:
                follow_up = self._next.pop(name, None)
                if follow_up is None:
                    del self._running[name]
                    return
                future, cause = follow_up
                self._running[name] = future


def _running_future() -> Future[T]:
    """A future already marked running, so that a waiter giving up (a cancelled request)
    cannot cancel a load other callers wait for."""
    future: Future[T] = Future()
    future.set_running_or_notify_cancel()
    return future

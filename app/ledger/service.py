"""The ledger as the running service uses it: one database, a queue, a background pass.

`LedgerService` owns the store (`app.ledger.store`), the queue of forecasts served
(`app.ledger.recorder`) and the actuals each worker holds (`app.ledger.actuals`). One
daemon thread runs a pass every `flush_seconds`:

1. reconnect, when the database could not be reached (at start or since): until then
   forecasts still answer, the ledger's endpoints answer 503, `/ready` says `degraded`;
2. write the forecasts queued since the last pass, in one transaction;
3. score the forecasts that new actuals meet (any worker's posts);
4. learn of actuals other workers stored, so forecasts by id start from them;
5. every `score_seconds`, refresh the live-accuracy gauges of the served models.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np

from app import metrics
from app.errors import LedgerUnavailable
from app.forecaster import Band, Forecaster
from app.ledger.accuracy import LiveVersion, live_versions
from app.ledger.actuals import Actuals
from app.ledger.recorder import Recorder, Served, packed
from app.ledger.store import Ingest, Ledger, Observation
from app.registry import Registry
from app.request_context import current_request_id

log = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=60)
"""How far back each pass looks for other workers' ingests: more than any commit takes and
any clock skew between replicas."""
RECONNECT_SECONDS = 5.0
CATCH_UP = 1  # batches a read expands and scores before it answers (200 answers, 100 posts)


class LedgerService:
    """The ledger of one worker: `store` is None while the database is out of reach."""

    def __init__(
        self,
        url: str,
        registry: Registry,
        *,
        flush_seconds: float = 1.0,
        score_seconds: float = 30.0,
        queue_limit: int = 200_000,
    ) -> None:
        self.url = url
        self.registry = registry
        self.flush_seconds = flush_seconds
        self.score_seconds = score_seconds
        self.recorder = Recorder(queue_limit)
        self.actuals = Actuals()
        self.store: Ledger | None = None
        self.reason: str | None = "not opened yet"
        self._loaded: set[str] = set()  # models whose stored actuals this worker has read
        self._pruned: dict[str, int] = {}  # the version each model's actuals were pruned for
        self._seen: dict[int, datetime] = {}  # ingests already read, by id
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._scored_at = 0.0

    # --- start and stop ---------------------------------------------------------------

    def open(self) -> None:
        """Connect and migrate; unreachable leaves it degraded, a failed migration raises."""
        ledger = Ledger(self.url)
        try:
            ledger.reach()
        except LedgerUnavailable as exc:
            ledger.close()
            self._degrade(exc.message)
            self._retry_at = time.monotonic() + RECONNECT_SECONDS
            return
        try:
            ledger.migrate()
        except LedgerUnavailable:
            ledger.close()
            raise
        self.store, self.reason = ledger, None
        metrics.LEDGER_UP.set(1)
        self._load_actuals()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the pass and write what is queued (a graceful stop loses nothing)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()
        if self.store is not None:
            self.store.close()

    # --- what requests call -----------------------------------------------------------

    @property
    def status(self) -> Literal["ok", "degraded"]:
        return "ok" if self.store is not None else "degraded"

    def available(self) -> Ledger:
        """The store, or `LedgerUnavailable` (503) saying why there is none."""
        store = self.store
        if store is None:
            raise LedgerUnavailable(
                f"the ledger is unavailable: {self.reason}; forecasts still answer"
            )
        return store

    def served(
        self,
        forecaster: Forecaster,
        rows: np.ndarray,
        ids: Sequence[str | None],
        origins: Sequence[str | None],
        periods: Sequence[Sequence[str]],
        values: np.ndarray,
        bands: Sequence[Band],
    ) -> None:
        """Queue an answer's forecasts of known series (no I/O); count them if they do not fit."""
        table = forecaster.series
        if table is None:
            return
        served = Served(
            forecaster.name,
            forecaster.version,
            table,
            rows,
            ids,
            origins,
            periods,
            values,
            bands,
            current_request_id(),
            datetime.now(UTC),
            forecaster.manifest.data.frequency.value,
        )
        if not self.recorder.add(served):
            metrics.LEDGER_DROPPED.labels("queue_full").inc(served.size)
            log.warning(
                "the ledger's queue is full: %d forecast values of model %s were not recorded",
                served.size,
                forecaster.name,
            )
        elif self.recorder.queued >= self.recorder.limit // 4:
            self._wake.set()  # a large queue is written now, not at the next tick

    def observed(self, model: str, rows: Sequence[Observation], ingest: Ingest) -> None:
        """Actuals this worker just stored: the next forecast by id starts from them."""
        self.actuals.add(model, ((r.series_id, r.period, r.value) for r in rows))
        self._seen[ingest.id] = ingest.received_at

    def catch_up(self, model: str) -> Ledger:
        """Write what is queued, expand and score a bounded share of what waits, for a read.

        Bounded: a model served for long with no actuals arriving may hold millions of
        packed values, minutes to expand; a read takes `CATCH_UP` batches of each and
        says how many values it could not count yet (`Ledger.packed_values`).
        """
        store = self.available()
        self.flush()
        store.expand(model, batches=CATCH_UP)
        store.score_pending(model, rounds=CATCH_UP)
        return store

    # --- the background pass ----------------------------------------------------------

    def flush(self) -> None:
        """Write the queued forecasts; on failure requeue them as far as the bound allows."""
        with self._flushing:
            taken = self.recorder.take()
            if not taken:
                return
            store = self.store
            try:
                if store is None:
                    raise LedgerUnavailable(self.reason or "the database is out of reach")
                records = [record for item in taken for record in packed(item)]
                store.record_served(records)
            except LedgerUnavailable as exc:
                dropped = self.recorder.put_back(taken)
                if dropped:
                    metrics.LEDGER_DROPPED.labels("database").inc(dropped)
                    log.error("%d forecast values were not recorded: %s", dropped, exc.message)
                if store is not None:
                    self._degrade(exc.message)
                return
            metrics.LEDGER_RECORDED.inc(sum(item.size for item in taken))

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self._pass()
            except Exception:  # the pass must outlive any surprise; the log says what it was
                log.exception("the ledger's background pass failed")

    def _pass(self) -> None:
        if self.store is None and time.monotonic() >= self._retry_at:
            self._reconnect()
        self.flush()
        store = self.store
        if store is None:
            return
        try:
            store.score_pending()
            self._load_actuals()
            self._read_ingests(store)
            if time.monotonic() - self._scored_at >= self.score_seconds:
                self._scored_at = time.monotonic()
                self._refresh_gauges(store)
        except LedgerUnavailable as exc:
            self._degrade(exc.message)

    def _reconnect(self) -> None:
        self._retry_at = time.monotonic() + RECONNECT_SECONDS
        self._loaded.clear()  # actuals stored while out of reach are read again
        try:
            self.open()
        except LedgerUnavailable as exc:  # a migration that fails now: stay degraded
            self._degrade(exc.message)
        if self.store is not None:
            log.info("the ledger's database is reachable again")

    def _degrade(self, reason: str) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
        if reason != self.reason:
            log.error("the ledger is degraded, forecasts still answer: %s", reason)
        self.reason = reason
        self._retry_at = time.monotonic() + RECONNECT_SECONDS
        metrics.LEDGER_UP.set(0)

    def _load_actuals(self) -> None:
        """Each served model's actuals, read once per model; those a version holds, dropped."""
        store = self.store
        if store is None:
            return
        for state in self.registry.states():
            served = state.served
            if served is None:
                continue
            if state.name not in self._loaded:
                if served.forecaster.series is not None:
                    self.actuals.add(state.name, store.actuals(state.name))
                self._loaded.add(state.name)
            if self._pruned.get(state.name) != served.version:
                table = served.forecaster.series
                if table is not None:
                    ends = dict(zip(table.ids, table.columns.last_period, strict=True))
                    frequency = served.forecaster.manifest.data.frequency
                    self.actuals.prune(state.name, ends, frequency)
                self._pruned[state.name] = served.version

    def _read_ingests(self, store: Ledger) -> None:
        """Actuals other workers stored since the last pass (and any this one missed)."""
        now = datetime.now(UTC)
        for ingest in store.ingests_since(now - OVERLAP):
            if ingest.id in self._seen:
                continue
            if ingest.model in self._loaded:
                self.actuals.add(ingest.model, store.actuals(ingest.model, ingest.received_at))
            self._seen[ingest.id] = ingest.received_at
        self._seen = {i: at for i, at in self._seen.items() if at >= now - 2 * OVERLAP}

    def _refresh_gauges(self, store: Ledger) -> None:
        for state in self.registry.states():
            if state.served is not None:
                publish(state.name, live_versions(store.step_sums(state.name)))


def publish(model: str, versions: Sequence[LiveVersion]) -> None:
    """Set the live-accuracy gauges of a model's versions from their one-step scores."""
    for version in versions:
        first = next((step for step in version.steps if step.step == 1 and step.n), None)
        if first is None:
            continue
        labels = (model, str(version.version))
        metrics.LIVE_SCORED.labels(*labels).set(first.n)
        metrics.LIVE_RMSE.labels(*labels).set(first.rmse or 0.0)
        if first.mase is not None:
            metrics.LIVE_MASE.labels(*labels).set(first.mase)
        for level, share in first.coverage.items():
            if share is not None:
                metrics.LIVE_COVERAGE.labels(*labels, level).set(share)

"""`--from-store`: the next version of a model, on its newest version's data plus the ledger's.

So "serve, observe, retrain, hot reload" needs no CSV export: the newest version's
training data (`training.datafile`, parsed only once its sha256 is the manifest's) is
extended with the observations the service stored for its series, read from the
service's own database (`FORECAST_DATABASE_URL`, else SQLite in `FORECAST_DATA_DIR`,
through `app.settings` as the service reads them). Each observation is placed on its
series' calendar:

- after the series' last period: appended, as long as the periods follow on. From the
  first missing period on, that series' observations wait, and stdout names the period
  to post: one missing actual in a catalog should not hold back every other series,
  and a series that ends earlier than the rest is one a catalog may have anyway;
- inside the series' calendar: a correction, its value replacing the training one (the
  ledger keeps the latest value posted for a period, and an actual posted after
  training is better informed than the file the version came from);
- before the series begins, or off its weekly grid: not used (the service refuses such
  rows, so only a database written by other means holds them).

Nothing new (no period added, no value changed) trains nothing (`NothingToTrain`): a
retrain on the same data would only publish a copy for every server to load.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.contract.calendar import Frequency, following, period_label, period_number, period_step
from app.contract.manifest import LedgerAdditions, Manifest, TrainingInfo
from app.contract.store import list_versions, read_manifest
from app.errors import ArtifactError, LedgerUnavailable
from app.ledger.store import Ledger, sqlite_url
from app.settings import Settings
from training.datafile import read_training_data
from training.panel import LISTED, Panel

Observed = Mapping[str, Sequence[tuple[str, float]]]
"""Each series' observations, (ISO period, value): what `Ledger.observed` answers."""


class StoreError(Exception):
    """`--from-store` cannot train: one line on stderr, exit code 2."""


class NothingToTrain(Exception):
    """The ledger adds nothing to the newest version's data: one line on stdout, exit code 0."""


@dataclass(frozen=True)
class Stored:
    """What the next version trains on, and the recipe the version it extends recorded."""

    panel: Panel
    training: TrainingInfo
    ledger: LedgerAdditions


def from_store(models_dir: Path, name: str) -> Stored:
    """The newest version's training data, extended with the ledger's observations.

    Raises StoreError (no version, one that kept no training data, a training data file
    that is not the manifest's, a database that cannot be read), DataError (a file that
    does not parse) or NothingToTrain.
    """
    version_dir, manifest = newest(models_dir, name)
    try:
        panel = read_training_data(version_dir, manifest)
    except ArtifactError as exc:
        raise StoreError(exc.message) from None
    placed = extend(panel, observations(name, list(panel.series)))
    added = additions(placed, manifest.version)
    if not (added.appended or added.corrected):
        unused = "".join(f"; {note}" for note in waiting(placed))
        raise NothingToTrain(
            f"nothing new for {name!r}: the ledger's {added.observations} observation(s) add"
            f" no period to version {manifest.version}'s data and change none of its"
            f" values{unused}; no version written"
        )
    return Stored(extended(panel, placed, added), manifest.training, added)


def newest(models_dir: Path, name: str) -> tuple[Path, Manifest]:
    """The newest version of `name` and its manifest; refused when it kept no training data."""
    versions = list_versions(models_dir / name)
    if not versions:
        raise StoreError(
            f"no version of {name!r} under {models_dir}: train one from a CSV first"
            f" (--data FILE --name {name})"
        )
    version_dir = models_dir / name / str(versions[-1])
    try:
        manifest = read_manifest(version_dir)
    except ArtifactError as exc:
        raise StoreError(exc.message) from None
    if manifest.training_data is None:
        raise StoreError(
            f"{version_dir} was written before versions kept their training data: train once"
            f" from the CSV (--data FILE --name {name}), then --from-store"
        )
    return version_dir, manifest


def observations(name: str, ids: list[str]) -> dict[str, list[tuple[str, float]]]:
    """The ledger's observations of `name`'s series `ids`, from the service's database.

    Only read: a SQLite file that is not there is refused rather than created, and the
    schema is left to the service, which migrates it at start.
    """
    url = ledger_url()
    try:
        parsed = make_url(url)
    except SQLAlchemyError:
        raise StoreError("FORECAST_DATABASE_URL is not a database URL") from None
    shown = parsed.render_as_string(hide_password=True)
    database = parsed.database or ""
    on_disk = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if on_disk and not Path(database).is_file():
        raise StoreError(
            f"no ledger database at {database} (the service creates it on its first start):"
            " FORECAST_DATA_DIR, or FORECAST_DATABASE_URL, names the service's"
        )
    try:
        ledger = Ledger(url)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"the ledger at {shown} cannot be used: {exc}") from None
    try:
        return ledger.observed(name, ids)
    except LedgerUnavailable as exc:
        raise StoreError(f"the ledger at {shown}: {exc.message}") from None
    finally:
        ledger.close()


def ledger_url() -> str:
    """The service's database URL, from the same settings the service reads."""
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "_".join(map(str, first["loc"])).upper()
        raise StoreError(f"FORECAST_{where}: {first['msg']}") from None
    return settings.database_url.get_secret_value() or sqlite_url(settings.data_dir)


@dataclass(frozen=True)
class Placed:
    """One series' values with its observations placed on its calendar (module docstring)."""

    values: np.ndarray
    periods: list[str]
    observed: int
    appended: int
    corrected: int
    outside: int  # before the series begins, or off its calendar
    waiting: int  # after a missing period
    missing: str | None  # that period; None: nothing waits


def place(
    values: np.ndarray,
    periods: list[str],
    observed: Sequence[tuple[str, float]],
    frequency: Frequency,
) -> Placed:
    """`values` (with ISO `periods`) corrected and extended by `observed`.

    Raises ValueError for an observation's period that is not one of `frequency`.
    """
    first, step = period_number(periods[0], frequency), period_step(frequency)
    values = values.copy()
    later: dict[int, float] = {}
    corrected = outside = 0
    for period, value in observed:
        k, off = divmod(period_number(period, frequency) - first, step)
        if off or k < 0:
            outside += 1
        elif k < len(values):
            corrected += bool(values[k] != value)
            values[k] = value
        else:
            later[k] = value
    end = len(values)
    while end in later:
        end += 1
    added = [later[k] for k in range(len(values), end)]
    extended = np.concatenate([values, added])
    extended.setflags(write=False)
    waiting = len(later) - len(added)
    return Placed(
        values=extended,
        periods=[*periods, *following(periods[-1], frequency, len(added))],
        observed=len(observed),
        appended=len(added),
        corrected=corrected,
        outside=outside,
        waiting=waiting,
        missing=period_label(first + end * step, frequency) if waiting else None,
    )


def extend(panel: Panel, observed: Observed) -> dict[str, Placed]:
    """Every series of the panel with its observations placed; StoreError for a bad period."""
    placed = {}
    for sid, found in panel.series.items():
        try:
            placed[sid] = place(
                found.values, panel.iso_periods[sid], observed.get(sid, ()), panel.frequency
            )
        except ValueError as exc:
            raise StoreError(f"series {sid!r} in the ledger: {exc}") from None
    return placed


def additions(placed: Mapping[str, Placed], base: int) -> LedgerAdditions:
    every = placed.values()
    return LedgerAdditions(
        extends_version=base,
        observations=sum(p.observed for p in every),
        appended=sum(p.appended for p in every),
        corrected=sum(p.corrected for p in every),
        unused=sum(p.outside + p.waiting for p in every),
    )


def waiting(placed: Mapping[str, Placed]) -> list[str]:
    """What was not used, and why: the missing periods, named (the user should post them)."""
    notes = []
    missing = {sid: p.missing for sid, p in placed.items() if p.missing is not None}
    if missing:
        named = ", ".join(f"{sid!r} ({p} missing)" for sid, p in list(missing.items())[:LISTED])
        more = f" and {len(missing) - LISTED} more" if len(missing) > LISTED else ""
        notes.append(
            f"observations after a missing period wait until it is posted, in {len(missing)}"
            f" series: {named}{more}"
        )
    if outside := sum(p.outside for p in placed.values()):
        notes.append(f"{outside} observation(s) before their series begins or off its calendar")
    return notes


def extended(panel: Panel, placed: Mapping[str, Placed], added: LedgerAdditions) -> Panel:
    """The panel trained on next, its notes saying where it came from and what changed."""
    series = {
        sid: dataclasses.replace(s, values=p.values, periods=tuple(p.periods), notes=())
        for (sid, s), p in zip(panel.series.items(), placed.values(), strict=True)
    }
    grown = sum(p.appended > 0 for p in placed.values())
    notes = [
        f"read {len(series)} series, {sum(len(s.values) for s in panel.series.values())}"
        f" values from {panel.source} (its sha256 is the manifest's)",
        f"ledger: {added.observations} observation(s): {added.appended} period(s) appended"
        f" to {grown} series, {added.corrected} training value(s) corrected",
        *waiting(placed),
    ]
    return dataclasses.replace(panel, series=series, notes=tuple(notes))

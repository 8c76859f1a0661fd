"""`forecast-train` / `python -m training`: train on a CSV and write the next model version.

Or, with `--from-store`, train the next version of a model on its newest version's data
plus the observations the service stored since (`training.retrain`), by the recipe
that version recorded. Bad input of any kind (unreadable CSV, impossible option values,
a series too short for the window and the split, a version or a database that cannot
be used) ends with one line on stderr and exit code 2, before TensorFlow is even
imported: a user should read what to fix, not a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from app.contract.calendar import Frequency
from app.contract.manifest import LedgerAdditions, TrainingInfo, TrainingOptions
from training.data import DataError, load_series
from training.fit import Split, TrainingError, plan_split
from training.panel import Panel, is_long_format, load_panel
from training.plan import Plan
from training.presets import PRESETS, Preset, default_test_periods
from training.retrain import NothingToTrain, StoreError, from_store
from training.run import run

PROG = "forecast-train"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
CSV_ONLY = ("data", "date_column", "value_column", "id_column", "series")


class UsageError(Exception):
    """A command-line value that cannot be used; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line (no usage dump) and reach `main`'s handler."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """Options default to None where the preset decides, so only what the user typed overrides."""
    parser = _Parser(
        prog=PROG,
        description="Train the LSTM forecaster on a CSV series, or on a model's stored data and"
        " the observations posted since (--from-store), and write models/<name>/<version>/.",
    )
    parser.add_argument("--data", type=Path, help="CSV with a period and a value")
    parser.add_argument(
        "--from-store",
        action="store_true",
        help="train the next version of --name on the data its newest version was trained on"
        " plus the observations the service stored since (its database: FORECAST_DATABASE_URL,"
        " else the SQLite ledger in FORECAST_DATA_DIR), by that version's recipe where no"
        " option here says otherwise. An observation of a period already in the data replaces"
        " its value; a series is extended up to its first missing period, and the output names"
        " that period; with nothing new, no version is written (exit 0)",
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="default: the recommended model (the default; with --from-store, the version's);"
        " seed: the blog post's model, for comparison",
    )
    parser.add_argument("--look-back", type=int, help="window length the network sees")
    parser.add_argument("--units", type=int, help="units of every LSTM layer")
    parser.add_argument("--members", type=int, help="networks averaged into one forecast")
    parser.add_argument("--epochs", type=int, help="epochs (all run: no early stopping)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument(
        "--seed", type=int, help="random seed (default 0; with --from-store, the version's)"
    )
    parser.add_argument("--test-fraction", type=float, help="share of points held out (0.33)")
    parser.add_argument(
        "--season-length",
        type=int,
        help="points per season; 1 for none (default: from the periods' frequency: annual"
        " none, quarterly 4, monthly 12, weekly 52, daily 7)",
    )
    parser.add_argument("--name", help="model name (default: from the CSV file name)")
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--date-column", help="period column, when the CSV is ambiguous")
    parser.add_argument("--value-column", help="value column, when the CSV is ambiguous")
    parser.add_argument(
        "--id-column",
        help="series column of a long-format CSV (one row per series and period); a"
        " unique_id,ds,y header needs none",
    )
    parser.add_argument("--series", help="train on this one series of a long-format CSV")
    parser.add_argument(
        "--test-periods",
        type=int,
        help="hold out the last N periods of the common calendar, for every series (default"
        " for many series: the M4 competition's horizon: 6 annual, 8 quarterly, 18 monthly,"
        " 13 weekly, 14 daily)",
    )
    parser.add_argument(
        "--no-refit",
        action="store_true",
        help="serve the evaluation fit (trained on the training parts only) instead of"
        " refitting on all the data after scoring",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress, only the results")
    return parser


def configure(args: argparse.Namespace, frequency: Frequency) -> Preset:
    """The chosen preset for this series' season, with the command line's overrides applied.

    The season length is the user's `--season-length` when given (1: no season),
    else the one the series' frequency implies (annual data has none).
    """
    season = args.season_length or frequency.season_length
    try:
        preset = PRESETS[args.preset].for_season(season)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    overrides: dict[str, Any] = {
        field: getattr(args, field)
        for field in ("look_back", "epochs", "batch_size", "test_fraction", "members")
        if getattr(args, field) is not None
    }
    if args.units is not None:
        overrides["units"] = (args.units,) * len(preset.units)
    if args.epochs is not None:
        overrides["steps"] = None  # a number of epochs replaces the preset's number of steps
    if not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be between 0 and 2**32 - 1, got {args.seed}")
    try:
        return dataclasses.replace(preset, **overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def model_name(args: argparse.Namespace) -> str:
    """The --name given, or the CSV's file stem made safe as a directory and URL segment."""
    name = args.name
    if name is None:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", args.data.stem).strip("._-").lower() or "model"
        name = name[:100]
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"--name {name!r}: use 1-100 letters, digits, '.', '_' or '-', not starting with '.' "
            "or '-'"
        )
    return name


def check_writable(target: Path) -> None:
    """Refuse a models directory that cannot be written before spending minutes training."""
    existing = next(p for p in (target, *target.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {target}: {existing} is not a writable directory")


def check_source(args: argparse.Namespace) -> None:
    """One source of data: a CSV (`--data`), or a model's stored data (`--from-store --name`)."""
    if not args.from_store:
        if args.data is None:
            raise UsageError("give the CSV to train on (--data FILE), or --from-store --name NAME")
        return
    if args.name is None:
        raise UsageError("--from-store needs --name: the model to train the next version of")
    given = [option for option in CSV_ONLY if getattr(args, option) is not None]
    if given:
        option = "--" + given[0].replace("_", "-")
        raise UsageError(
            f"{option} reads a CSV; --from-store trains on the stored data of {args.name!r}"
        )


def recall(args: argparse.Namespace, training: TrainingInfo | None) -> None:
    """Fill in what the command line left unset: the recipe `training` recorded (a version
    trained on again, `--from-store`), else the defaults (the default preset, seed 0)."""
    if args.preset is None:
        args.preset = "default" if training is None else training.preset
    if args.seed is None:
        args.seed = 0 if training is None else training.seed
    if training is None or training.options is None:
        return
    for option, value in training.options.model_dump().items():
        given = getattr(args, option)
        if given is None or given is False:
            setattr(args, option, value)


def load(args: argparse.Namespace, name: str) -> Plan:
    """What to train on `--data`'s series, and how (`plan_for`)."""
    recall(args, None)
    return plan_for(args, read_csv(args, name))


def load_stored(args: argparse.Namespace, name: str) -> Plan:
    """What to train on `--from-store`: the model's stored data, by its newest version's recipe."""
    stored = from_store(args.models_dir, name)
    recall(args, stored.training)
    return plan_for(args, stored.panel, stored.ledger)


def read_csv(args: argparse.Namespace, name: str) -> Panel:
    """The series of `--data`: a single-series CSV is a panel of one, named after the model.

    A long-format file (`--id-column`, or a `unique_id,ds,y` header) holds many series;
    `--series` picks one of them.
    """
    if args.id_column is None and not is_long_format(args.data):
        if args.series is not None:
            raise UsageError("--series needs a long-format CSV: name its id column (--id-column)")
        series = load_series(
            args.data, date_column=args.date_column, value_column=args.value_column
        )
        panel = Panel.of_one(name, series)
    else:
        panel = load_panel(
            args.data,
            id_column=args.id_column,
            date_column=args.date_column,
            value_column=args.value_column,
        )
        if args.series is not None:  # too short: plan_split says so, as for a single series
            panel = Panel.of_one(args.series, panel.pick(args.series))
    return panel


def plan_for(args: argparse.Namespace, panel: Panel, ledger: LedgerAdditions | None = None) -> Plan:
    """The panel's splits, and the preset configured for its frequency.

    Many series are split at one calendar cutoff (`--test-periods`); one series by
    `--test-fraction` unless `--test-periods` is given. Every refusal happens here or
    before, before TensorFlow loads.
    """
    preset = configure(args, panel.frequency)
    many = len(panel.series) > 1
    if many and args.test_fraction is not None:
        raise UsageError(
            "--test-fraction splits one series; many series share one calendar cutoff:"
            " use --test-periods N"
        )
    if many and preset.name == "seed":
        raise UsageError(
            f"the seed preset is the post's one-series model, and {panel.source} holds"
            f" {len(panel.series)} series: use the default preset, or pick one with --series ID"
        )
    test_periods = args.test_periods
    if many and test_periods is None:
        test_periods = default_test_periods(panel.frequency)
    if many:
        sizes = panel.before_cutoff(test_periods)
        history = preset.spec.history_length
        short = {sid: f"{n} before the cutoff" for sid, n in sizes.items() if n <= history}
        why = f"too short for one training window before the test periods ({history + 1} needed)"
        panel = panel.without(short, why)
        splits = [
            Split(len(s.values), sizes[sid], sizes[sid] - history)
            for sid, s in panel.series.items()
        ]
    else:
        only = next(iter(panel.series.values()))
        splits = [plan_split(len(only.values), preset, test_periods)]
    refit = preset.name != "seed" and not args.no_refit
    options = TrainingOptions(
        **{field: getattr(args, field) for field in TrainingOptions.model_fields}
    )
    return Plan(panel, splits, preset, test_periods, refit, options, ledger)


def main(argv: list[str] | None = None) -> int:
    """Validate everything cheap first, then train; the exit code is 0, or 2 for bad input.

    With `--from-store` and nothing new in the ledger, one line says so on stdout and
    the exit code is 0: nothing failed, and a scheduled retrain should not alarm.
    """
    try:
        args = build_parser().parse_args(argv)
        check_source(args)
        name = model_name(args)
        if args.season_length is not None and args.season_length < 1:
            raise UsageError(f"--season-length must be at least 1, got {args.season_length}")
        if args.test_periods is not None and args.test_periods < 1:
            raise UsageError(f"--test-periods must be at least 1, got {args.test_periods}")
        plan = load_stored(args, name) if args.from_store else load(args, name)
        check_writable(args.models_dir / name)
        version_dir = run(plan, name, args.seed, args.models_dir, quiet=args.quiet)
    except NothingToTrain as exc:
        print(f"{PROG}: {exc}")
        return 0
    except (UsageError, DataError, TrainingError, StoreError) as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(version_dir)
    return 0

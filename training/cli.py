"""`forecast-train` / `python -m training`: train on a CSV and write the next model version.

Bad input of any kind (unreadable CSV, impossible option values, a series too
short for the window and the split) ends with one line on stderr and exit code
2, before TensorFlow is even imported: a user should read what to fix, not a
traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from app.contract.calendar import Frequency
from app.contract.manifest import TrainingOptions
from training.data import DataError, load_series
from training.fit import Split, TrainingError, plan_split
from training.panel import Panel, is_long_format, load_panel
from training.presets import PRESETS, Preset, default_test_periods
from training.run import run

PROG = "forecast-train"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


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
        description="Train the LSTM forecaster on a CSV series and write models/<name>/<version>/.",
    )
    parser.add_argument("--data", required=True, type=Path, help="CSV with a period and a value")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="default: the recommended model; seed: the blog post's model, for comparison",
    )
    parser.add_argument("--look-back", type=int, help="window length the network sees")
    parser.add_argument("--units", type=int, help="units of every LSTM layer")
    parser.add_argument("--members", type=int, help="networks averaged into one forecast")
    parser.add_argument("--epochs", type=int, help="epochs (all run: no early stopping)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
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


@dataclass(frozen=True)
class Plan:
    """What to train: the series, where each one's test part starts, and how."""

    panel: Panel
    splits: list[Split]
    preset: Preset
    test_periods: int | None  # None: the last `preset.test_fraction` of each series
    refit: bool
    options: TrainingOptions  # what the command line chose, for the manifest


def load(args: argparse.Namespace, name: str) -> Plan:
    """The series to train on, their splits, and the preset configured for their frequency.

    A single-series CSV is a panel of one, its series named after the model. A
    long-format file (`--id-column`, or a `unique_id,ds,y` header) trains one model on
    all its series, or on the one `--series` picks. Many series are split at one
    calendar cutoff (`--test-periods`); one series by `--test-fraction` unless
    `--test-periods` is given. Every refusal happens here, before TensorFlow loads.
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
    preset = configure(args, panel.frequency)
    many = len(panel.series) > 1
    if many and args.test_fraction is not None:
        raise UsageError(
            "--test-fraction splits one series; many series share one calendar cutoff:"
            " use --test-periods N"
        )
    if many and preset.name == "seed":
        raise UsageError(
            f"the seed preset is the post's one-series model, and {args.data} holds"
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
    return Plan(panel, splits, preset, test_periods, refit, options)


def main(argv: list[str] | None = None) -> int:
    """Validate everything cheap first, then train; the exit code is 0, or 2 for bad input."""
    try:
        args = build_parser().parse_args(argv)
        name = model_name(args)
        if args.season_length is not None and args.season_length < 1:
            raise UsageError(f"--season-length must be at least 1, got {args.season_length}")
        if args.test_periods is not None and args.test_periods < 1:
            raise UsageError(f"--test-periods must be at least 1, got {args.test_periods}")
        plan = load(args, name)
        check_writable(args.models_dir / name)
        version_dir = run(plan, name, args.seed, args.models_dir, quiet=args.quiet)
    except (UsageError, DataError, TrainingError) as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(version_dir)
    return 0

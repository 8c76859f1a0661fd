"""What one training run does: the series, where each one's test part starts, and how.

`training.cli` builds a `Plan` from the command line (or from a stored version's recipe);
`training.window` tries its look-back candidates and `training.run` carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.contract.manifest import LedgerAdditions, TrainingOptions
from training.fit import Split
from training.panel import Panel
from training.presets import Preset


@dataclass(frozen=True)
class Plan:
    """What to train: the series, where each one's test part starts, and how."""

    panel: Panel
    splits: list[Split]
    preset: Preset
    test_periods: int | None  # None: the last `preset.test_fraction` of each series
    refit: bool
    options: TrainingOptions  # what the command line chose, for the manifest
    ledger: LedgerAdditions | None = None  # --from-store: what the ledger added

"""Live accuracy: the ledger's sums per version and step, turned into the training scores.

The numbers mean what the training metrics mean (`app.contract.scoring`,
`app.contract.intervals`): RMSE and MAE in series units, pooled over every scored
forecast (so, over many series, the largest weigh most, as the manifest's pooled
`test` scores do); MASE as each error over its own series' training seasonal-naive MAE,
averaged (for one series, its MAE over that scale, exactly the training MASE); coverage
as the share of actuals inside the band served; the Winkler score as the band's width
plus 2/alpha times any miss. Each is summed in the database per point, when the actual
arrives, so a model's accuracy is one index scan however many forecasts it served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.ledger.store import StepSums


@dataclass(frozen=True)
class LiveStep:
    """How the forecasts `step` periods ahead did against the actuals that arrived."""

    step: int
    recorded: int
    n: int
    rmse: float | None
    mae: float | None
    mase: float | None
    coverage: dict[str, float | None]
    winkler: dict[str, float | None]


@dataclass(frozen=True)
class LiveVersion:
    version: int
    live_since: datetime
    steps: list[LiveStep]


def live_versions(sums: list[StepSums]) -> list[LiveVersion]:
    """Per version (newest first), its steps' scores; a version with none scored yet has
    nulls."""
    by_version: dict[int, list[StepSums]] = {}
    for row in sums:
        by_version.setdefault(row.version, []).append(row)
    return [
        LiveVersion(
            version,
            min(row.first_served for row in rows),
            [_step(row) for row in sorted(rows, key=lambda r: r.step)],
        )
        for version, rows in sorted(by_version.items(), reverse=True)
    ]


def _step(row: StepSums) -> LiveStep:
    n = row.n
    coverage: dict[str, float | None] = {}
    winkler: dict[str, float | None] = {}
    for level, (count, inside, score) in row.bands.items():
        coverage[str(level)] = inside / count if count else None
        winkler[str(level)] = score / count if count else None
    return LiveStep(
        step=row.step,
        recorded=row.recorded,
        n=n,
        rmse=(row.sq / n) ** 0.5 if n else None,
        mae=row.ae / n if n else None,
        mase=row.ase / row.scaled if row.scaled else None,
        coverage=coverage,
        winkler=winkler,
    )

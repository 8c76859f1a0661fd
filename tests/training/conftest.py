"""The training run that the read-only training tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
from trainkit import train_cli, write_series


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """One training run shared by the read-only tests: (csv, version dir, stdout)."""
    base = tmp_path_factory.mktemp("train")
    csv = write_series(base / "Synthetic Sales.csv")
    code, out = train_cli(csv, base / "models")
    assert code == 0
    return csv, base / "models" / "synthetic-sales" / "1", out

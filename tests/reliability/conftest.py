"""The reliability suite (issue 6, items 5-7): fuzzing, soak and fault injection, live.

Every test here is marked `reliability`, so `pytest -m reliability tests/reliability`
(`make reliability`) selects exactly this suite and `-m "not reliability"` leaves it
out of a quick run. The toy models come from `tests/conftest.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.reliability)

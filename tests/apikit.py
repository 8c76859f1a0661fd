"""A registry that is not ready, and how to make an app's every route answer from a registry.

Shared by the v1 and V2 route tests, which both check a model that fails verification.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.dataplane import DataPlane
from app.http.deps import get_dataplane, get_registry
from app.registry import ModelState, Registry, ServedVersion
from app.settings import Settings


class NotReadyRegistry(Registry):
    """Knows model `toy` but has no version of it that verifies."""

    def __init__(self) -> None:
        super().__init__(Path("unused"), loader=never_called)
        self.swap(ModelState("toy", (1,), None, {1: "sha256 mismatch"}))


def never_called(path: Path) -> ServedVersion:
    raise AssertionError(path)


def serve_registry(app: Any, registry: Registry, settings: Settings) -> None:
    """Make every route, data plane included, answer from `registry`."""
    app.dependency_overrides[get_registry] = lambda: registry
    app.dependency_overrides[get_dataplane] = lambda: DataPlane(registry, settings)

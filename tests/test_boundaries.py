"""The architecture's one-way rules, checked from the imports themselves.

`app/contract/` and `app/engine/` are NumPy + pydantic only (and the error family,
`app/errors.py`, which is pydantic only): training imports
them, so they must not drag in the web framework, and serving imports them, so
they must not drag in TensorFlow. Nothing in `app/` imports `training/`.

The protocols stand side by side: `app/v1/`, `app/v2/` and `app/timeseries/` never
import each other, and `app/http/` (what every protocol shares) imports none of
them, so each protocol is a package beside the others, not a layer on top of one.
Below them all, the data plane and what it calls import no web layer.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from liveserver import ROOT

WEB = {"fastapi", "starlette", "uvicorn"}
# h5py too: Keras writes the weights with it, the service reads them itself (app/engine/hdf5.py)
TRAINING = {"tensorflow", "keras", "sklearn", "training", "matplotlib", "pandas", "h5py"}


def imported(path: Path) -> set[str]:
    """Top-level names a module imports (absolute imports; the project uses no relative ones)."""
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("app/contract") + modules("app/engine"), ids=str)
def test_contract_and_engine_import_no_web_framework_and_no_training_stack(path: Path) -> None:
    found = {name.split(".")[0] for name in imported(path)}
    assert not found & (WEB | TRAINING), sorted(found & (WEB | TRAINING))
    inner = {name for name in imported(path) if name.startswith("app.")}
    allowed = ("app.contract", "app.engine", "app.errors")
    assert all(name.startswith(allowed) for name in inner), sorted(inner)


@pytest.mark.parametrize("path", modules("app"), ids=str)
def test_the_service_never_imports_training_or_tensorflow(path: Path) -> None:
    found = {name.split(".")[0] for name in imported(path)}
    assert not found & TRAINING, sorted(found & TRAINING)


PROTOCOLS = ("app.v1", "app.v2", "app.timeseries")


@pytest.mark.parametrize("path", modules("app"), ids=str)
def test_protocols_stand_side_by_side_over_shared_plumbing(path: Path) -> None:
    own = ".".join(path.relative_to(ROOT).parts[:2])
    inner = {name for name in imported(path) if name.startswith("app.")}
    if own in PROTOCOLS or own == "app.http":
        others = {p for p in PROTOCOLS if p != own}
        assert not {n for n in inner if n.startswith(tuple(others))}, sorted(inner)


WEB_LAYERS = (*PROTOCOLS, "app.http")


@pytest.mark.parametrize("path", modules("app"), ids=str)
def test_the_work_below_http_imports_no_web_layer(path: Path) -> None:
    """The data plane and everything under it (registry, ledger, forecaster...) are called by
    the web layers and never call up into them; only the app factory wires the two."""
    own = ".".join(path.relative_to(ROOT).parts[:2])
    if own.removesuffix(".py") in (*WEB_LAYERS, "app.main"):
        return
    inner = {name for name in imported(path) if name.startswith("app.")}
    assert not {n for n in inner if n.startswith(WEB_LAYERS)}, sorted(inner)


def test_importing_contract_and_engine_loads_neither_stack() -> None:
    """The same rule at run time: what the imports pull in transitively."""
    names = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in modules("app/contract") + modules("app/engine")
        if p.name != "__init__.py"
    ]
    code = (
        f"import importlib, sys; [importlib.import_module(n) for n in {names!r}]; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(WEB | TRAINING)!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"

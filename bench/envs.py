"""Fresh virtual environments for the serving and the training install, and their sizes.

`pip install .` (serving: the main dependencies only) and `pip install '.[train]'`
go into new venvs under /tmp, built from a copy of the project's packaging files
(so no `build/` or `*.egg-info` lands in the working tree). They are cached: the
directory name carries a hash of pyproject.toml's dependency lists and the Python
version, so a venv is rebuilt only when the dependencies change. The first run downloads TensorFlow
(a few minutes); later runs reuse the venvs.

The serving venv is also where the benchmark runs the service itself: it proves
the service starts without TensorFlow installed, and its start time and memory
are those of the environment `make serve` builds.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench.report import ROOT

CACHE = Path(tempfile.gettempdir()) / "lstm-forecast-bench-venvs"
PACKAGING = ("pyproject.toml", "README.md", "app", "training")
INSTALL_TIMEOUT_S = 1800
COMPLETE = ".bench-complete"


@dataclass(frozen=True)
class Venv:
    kind: str  # "serve" or "train"
    path: Path
    reused: bool

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def site_packages(self) -> Path:
        return next((self.path / "lib").glob("python*/site-packages"))


def ensure(kind: str, log: Path) -> Venv:
    """The cached venv for `kind` ("serve": `.`, "train": `.[train]`), built if missing."""
    spec = {"serve": ".", "train": ".[train]"}[kind]
    path = CACHE / f"{kind}-py{platform.python_version()}-{_dependency_key()}"
    if (path / COMPLETE).is_file():
        return Venv(kind, path, reused=True)
    for stale in CACHE.glob(f"{kind}-*"):  # older dependency sets: only ever ours, under CACHE
        shutil.rmtree(stale, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"bench: building the {kind} venv {path} (first run only)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-src-") as src, log.open("ab") as out:
        for name in PACKAGING:
            source, target = ROOT / name, Path(src) / name
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        python = str(path / "bin" / "python")
        for command in (
            [_base_python(), "-m", "venv", str(path)],
            [python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
            [python, "-m", "pip", "install", "--quiet", spec],
        ):
            subprocess.run(
                command, cwd=src, stdout=out, stderr=out, check=True, timeout=INSTALL_TIMEOUT_S
            )
    (path / COMPLETE).touch()
    return Venv(kind, path, reused=False)


def disk_usage_mib(path: Path) -> float:
    """Allocated size of everything under `path` (like `du -s`), hard links counted once."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(directory, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total / 2**20


def largest_packages(venv: Venv, count: int = 4) -> list[tuple[str, float]]:
    """The biggest top-level entries of site-packages, in MiB, largest first."""
    site = venv.site_packages()
    sizes = [
        (entry.name, disk_usage_mib(entry) if entry.is_dir() else entry.stat().st_size / 2**20)
        for entry in site.iterdir()
        if not entry.name.endswith((".dist-info", ".pth")) and entry.name != "__pycache__"
    ]
    return sorted(sizes, key=lambda item: -item[1])[:count]


def version_of(python: str, module: str) -> str:
    """`module.__version__` as seen by another interpreter (e.g. NumPy in the serving venv)."""
    result = subprocess.run(
        [python, "-c", f"import {module}; print({module}.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout.strip() or "not installed"


def _dependency_key() -> str:
    """Hash of the dependency lists in pyproject.toml: a lint setting does not rebuild."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [project.get("dependencies", []), project.get("optional-dependencies", {})]
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:12]


def _base_python() -> str:
    """The interpreter behind the current venv (venvs are created from the base install)."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(base) if base.exists() else sys.executable

"""Re-fetch the page's vendored chart library from npm and check it against its pins.

The page at `/` loads uPlot from the project's own files (no CDN: it must work
offline). `app/ui/package.json` pins the exact version (`dependencies`), the
npm tarball's integrity and the sha256 of every file copied out of it
(`vendored`). `make ui-vendor` runs this script: `npm pack` fetches that version
into a temporary directory, a tarball whose integrity differs is refused, and
the files are copied into `app/ui/`, each checked against its sha256 first.
After a version bump, `--update` records the new integrity and hashes instead
(review that diff). `tests/ui/test_ui.py` checks the committed files against the
same hashes, so a hand edit or an upgrade that skips this script fails the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

UI = Path(__file__).resolve().parents[1] / "app" / "ui"
PACKAGE_JSON = UI / "package.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pins() -> dict[str, Any]:
    """`app/ui/package.json`, parsed: `dependencies` and `vendored` are read from it."""
    loaded: dict[str, Any] = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    return loaded


def _pack(spec: str, into: Path) -> dict[str, Any]:
    """`npm pack <spec>` into `into`: npm's own summary of the tarball (name, integrity...)."""
    done = subprocess.run(
        ["npm", "pack", "--json", "--silent", "--pack-destination", str(into), spec],
        capture_output=True,
        text=True,
        check=True,
    )
    packed: list[dict[str, Any]] = json.loads(done.stdout)
    return packed[0]


def vendor(package: str, pinned: dict[str, Any], version: str, update: bool) -> list[str]:
    """Copy the pinned files of `package@version` into app/ui; the problems found, if any."""
    with tempfile.TemporaryDirectory() as tmp:
        packed = _pack(f"{package}@{version}", Path(tmp))
        if packed["integrity"] != pinned["integrity"] and not update:
            return [f"{package}@{version}: tarball integrity {packed['integrity']} is not pinned"]
        pinned["integrity"] = packed["integrity"]
        with tarfile.open(Path(tmp) / packed["filename"]) as archive:
            archive.extractall(tmp, filter="data")
        problems = []
        for source, entry in pinned["files"].items():
            fetched = Path(tmp) / "package" / source
            if sha256(fetched) != entry["sha256"] and not update:
                problems.append(f"{package}/{source}: sha256 {sha256(fetched)} is not pinned")
                continue
            entry["sha256"] = sha256(fetched)
            target = UI / entry["to"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fetched, target)
        return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update", action="store_true", help="record new integrity and hashes (after a bump)"
    )
    args = parser.parse_args(argv)
    manifest = pins()
    problems = []
    for package, pinned in manifest["vendored"].items():
        version = manifest["dependencies"][package]
        problems += vendor(package, pinned, version, args.update)
    if problems:
        print("\n".join(f"vendor_ui: error: {p}" for p in problems), file=sys.stderr)
        return 1
    if args.update:
        PACKAGE_JSON.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

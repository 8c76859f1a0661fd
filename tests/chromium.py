"""Debian's headless Chromium for the browser tests: where it is, and how it is started.

Offline and quiet: no sandbox (tests may run as root), no GPU, no QUIC, and no
background networking, component updates or sync trying to reach the internet.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and Path(p).exists()),
    None,
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

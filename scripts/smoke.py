"""Smoke test for the container image: its forecasts must equal the service's own.

    BASE_URL=http://127.0.0.1:18000 .venv/bin/python scripts/smoke.py [--mount-check always]

Run by `make container-check` (as container-check's SMOKE_CMD, which exports
BASE_URL once the container answers /health). It:

1. waits for `GET /ready` on BASE_URL, then POSTs fixed milk-like values to
   `POST /v1/predict` (horizon 1 and 12) and to the batch endpoint, and checks
   every number equals (within 1e-9) what the same app gives in this process
   (`create_app(Settings(model_dir=models/))` under Starlette's TestClient);
2. the mount check: starts a second container from the same image with a
   read-only root filesystem, no capabilities, and a directory holding only
   `milk-seed` mounted read-only at /models, with FORECAST_MODEL_DIR=/models and
   FORECAST_DEFAULT_MODEL=milk-seed; checks it serves exactly that model and its
   forecasts equal the in-process ones, then stops it with SIGTERM and checks it
   exits 0 before the grace period (i.e. SIGTERM reaches uvicorn as PID 1);
3. sends 1,000 predictions to the first container and prints its memory and user
   (podman exec), the numbers the Kubernetes requests/limits are sized from.

Standard library plus the project's own code (and the TestClient, from the dev
dependencies). The podman steps use the same global options as container-check
(runc, cgroupfs, file events, its STORAGE_DRIVER / OCI_RUNTIME knobs) and the
image it built (IMAGE_TAG, default localhost/container-check-<folder>:latest).

This file is the command; scripts/smoke_forecasts.py holds the HTTP client, the
in-process reference and the comparison (step 1), scripts/smoke_containers.py the
podman steps (2 and 3). It puts the project root on sys.path first, so it runs as a
script path (as SMOKE_CMD runs it) and as `python -m scripts.smoke`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.smoke_containers import measure, mount_check, wait_ready
from scripts.smoke_forecasts import ROOT, Reference, SmokeError, check_forecasts, log


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_.-]", "-", name.lower()).strip("-") or "project"


# --------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("BASE_URL"))
    parser.add_argument(
        "--mount-check",
        choices=("auto", "always", "never"),
        default="auto",
        help="second container with a read-only mounted models dir (auto: when podman is found)",
    )
    parser.add_argument(
        "--image",
        default=os.environ.get("IMAGE_TAG")
        or f"localhost/container-check-{_slug(ROOT.name)}:latest",
    )
    parser.add_argument("--shutdown-seconds", type=int, default=20)
    parser.add_argument("--load", type=int, default=1000, help="predictions before measuring")
    args = parser.parse_args(argv)
    if not args.base_url:
        parser.error("BASE_URL (or --base-url) is required")
    base_url = args.base_url.rstrip("/")
    expect = os.environ.get("FORECAST_DEFAULT_MODEL", "milk")

    try:
        # container-check already saw /health 200, i.e. the lifespan (model loading)
        # has finished: a 503 that lasts is a broken model, not a slow start.
        ready = wait_ready(base_url, timeout=20)
        log(f"{base_url}/ready -> 200 {json.dumps(ready)[:200]}")
        ref = Reference(ROOT / "models", expect)
        try:
            check_forecasts(base_url, ref, expect)
        finally:
            ref.close()

        have_podman = shutil.which("podman") is not None and os.geteuid() == 0
        if args.mount_check == "always" or (args.mount_check == "auto" and have_podman):
            mount_check(args.image, args.shutdown_seconds)
        else:
            log("SKIP mount check (no rootful podman; --mount-check always to require it)")

        if have_podman and args.load > 0:
            measure(base_url, args.image, args.load)
    except SmokeError as err:
        log(f"FAIL: {err}")
        return 1
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())

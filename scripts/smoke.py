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
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Monthly milk production (pounds per cow), 1962-1964: 36 values, oldest first,
# enough for any committed model's look_back.
VALUES = [
    589.0, 561.0, 640.0, 656.0, 727.0, 697.0, 640.0, 599.0, 568.0, 577.0, 553.0, 582.0,
    600.0, 566.0, 653.0, 673.0, 742.0, 716.0, 660.0, 617.0, 583.0, 587.0, 565.0, 598.0,
    628.0, 618.0, 688.0, 705.0, 770.0, 736.0, 678.0, 639.0, 604.0, 611.0, 594.0, 634.0,
]  # fmt: skip
# The engine computes in float32 (app/engine/layers.PRECISION); a different BLAS
# thread count or CPU kernel sums in another order, so forecasts agree to float32's
# resolution, not bit for bit.
RELATIVE_TOLERANCE = 1e-6
MOUNTED_MODEL = "milk-seed"
CONTAINER_MODELS = "/models"


class SmokeError(AssertionError):
    pass


def log(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


# --------------------------------------------------------------------- HTTP client
def _headers() -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key := os.environ.get("SMOKE_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    return headers


def http(method: str, url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=_headers())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_ready(base_url: str, timeout: float = 60, container: str | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = "no answer"
    while time.monotonic() < deadline:
        try:
            status, body = http("GET", f"{base_url}/ready", timeout=3)
            if status == 200:
                return body
            last = (status, body)
        except OSError as err:  # refused / reset while starting
            last = err
        if container and podman_state(container) not in ("running", "created", "configured"):
            raise SmokeError(
                f"container {container} stopped before /ready: {podman_logs(container)}"
            )
        time.sleep(0.5)
    raise SmokeError(f"{base_url}/ready not 200 within {timeout:.0f}s (last: {last})")


# ------------------------------------------------------- reference (in-process)
class Reference:
    """The same app, same model directory, in this process (no container, no network)."""

    def __init__(self, model_dir: Path, default_model: str) -> None:
        try:
            from fastapi.testclient import TestClient

            from app.main import create_app
            from app.settings import Settings
        except ImportError as err:
            raise SmokeError(
                f"cannot import the app in-process ({err}); run with the project venv, "
                "e.g. `.venv/bin/python scripts/smoke.py` after `make test`"
            ) from err
        # the in-process app's own log lines would interleave with the container's
        # story; its errors still show
        logging.disable(logging.WARNING)
        settings = Settings(model_dir=model_dir, default_model=default_model)
        self._client = TestClient(create_app(settings))
        self._client.__enter__()  # runs the lifespan: models load here

    def post(self, path: str, body: Any) -> Any:
        response = self._client.post(path, json=body, headers=_headers())
        if response.status_code != 200:
            raise SmokeError(f"in-process POST {path} -> {response.status_code}: {response.text}")
        return response.json()

    def close(self) -> None:
        self._client.__exit__(None, None, None)


def _flatten(x: Any) -> list[float]:
    if isinstance(x, list):
        return [v for item in x for v in _flatten(item)]
    return [float(x)]


def compare(label: str, got: dict[str, Any], want: dict[str, Any], key: str) -> float:
    for field in ("model", "version", "horizon"):
        if got.get(field) != want.get(field):
            raise SmokeError(f"{label}: {field} {got.get(field)!r} != {want.get(field)!r}")
    a, b = _flatten(got[key]), _flatten(want[key])
    if len(a) != len(b) or not a:
        raise SmokeError(f"{label}: {key} shapes differ: {got[key]} vs {want[key]}")
    worst = max(abs(x - y) / max(1.0, abs(y)) for x, y in zip(a, b, strict=True))
    if not all(math.isfinite(x) for x in a) or worst > RELATIVE_TOLERANCE:
        raise SmokeError(
            f"{label}: container {got[key]} != in-process {want[key]} (max relative diff {worst})"
        )
    exact = "exactly equal" if worst == 0 else f"max relative diff {worst:.3g}"
    log(f"{label}: {got['model']} v{got['version']} {key}={got[key]} ({exact})")
    return worst


def check_forecasts(base_url: str, ref: Reference, expect_model: str) -> None:
    for horizon in (1, 12):
        body = {"values": VALUES, "horizon": horizon}
        status, got = http("POST", f"{base_url}/v1/predict", body)
        if status != 200:
            raise SmokeError(f"POST /v1/predict -> {status}: {got}")
        if got.get("model") != expect_model:
            raise SmokeError(f"/v1/predict served {got.get('model')!r}, expected {expect_model!r}")
        compare(f"/v1/predict h={horizon}", got, ref.post("/v1/predict", body), "forecast")
    batch = {"series": [VALUES, VALUES[:-1], [v * 1.05 for v in VALUES]], "horizon": 3}
    path = f"/v1/models/{expect_model}/predict/batch"
    status, got = http("POST", base_url + path, batch)
    if status != 200:
        raise SmokeError(f"POST {path} -> {status}: {got}")
    compare(f"{path} h=3", got, ref.post(path, batch), "forecasts")


# ------------------------------------------------------------------- podman
def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_.-]", "-", name.lower()).strip("-") or "project"


def podman_cmd(*args: str) -> list[str]:
    """podman with container-check's global options (see its header)."""
    cmd = ["podman", "--runtime", os.environ.get("OCI_RUNTIME", "runc")]
    cmd += ["--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    driver = os.environ.get("STORAGE_DRIVER", "")
    if driver == "vfs":
        cmd += ["--storage-driver", "vfs", "--root", "/var/lib/container-check/vfs-storage"]
        cmd += ["--runroot", "/run/container-check-vfs"]
    elif driver:
        cmd += ["--storage-driver", driver]
    return [*cmd, *args]


def podman(*args: str, check: bool = True, timeout: float = 120) -> str:
    done = subprocess.run(
        podman_cmd(*args), capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise SmokeError(
            f"podman {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return done.stdout.strip()


def podman_state(container: str) -> str:
    return podman("inspect", "--format", "{{.State.Status}}", container, check=False) or "gone"


def podman_logs(container: str) -> str:
    return podman("logs", "--tail", "30", container, check=False)


def ulimit_args() -> list[str]:
    # container-check's reason: podman's default nofile exceeds this host's hard limit
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    nofile = 1048576 if nofile == resource.RLIM_INFINITY else nofile
    nproc = pid_max if nproc == resource.RLIM_INFINITY or nproc > pid_max else nproc
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mount_check(image: str, shutdown_seconds: int) -> None:
    source = ROOT / "models" / MOUNTED_MODEL
    if not source.is_dir():
        raise SmokeError(f"{source} missing: nothing to mount")
    tmp = Path(tempfile.mkdtemp(prefix="smoke-models-"))
    container = f"smoke-mount-{os.getpid()}"
    ref = None
    try:
        models = tmp / "models"
        shutil.copytree(source, models / MOUNTED_MODEL)
        for path in [tmp, *tmp.rglob("*")]:  # readable by the image's non-root user
            path.chmod(0o755 if path.is_dir() else 0o644)
        port = free_port()
        podman(
            "run", "-d", "--pull=never", "--name", container, *ulimit_args(),
            "-p", f"127.0.0.1:{port}:8000",
            # what deploy/kubernetes/deployment.yaml asks for: read-only root
            # filesystem with a writable /tmp, no capabilities, no privilege escalation
            "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "-v", f"{models}:{CONTAINER_MODELS}:ro",
            "-e", f"FORECAST_MODEL_DIR={CONTAINER_MODELS}",
            "-e", f"FORECAST_DEFAULT_MODEL={MOUNTED_MODEL}",
            "-e", f"FORECAST_SHUTDOWN_SECONDS={shutdown_seconds}",
            image,
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{port}"
        log(f"mount check: {container} from {image}, {models} -> {CONTAINER_MODELS} (ro)")
        wait_ready(base_url, container=container)
        status, listing = http("GET", f"{base_url}/v1/models")
        if status != 200:
            raise SmokeError(f"GET /v1/models -> {status}: {listing}")
        items = listing.get("models", listing) if isinstance(listing, dict) else listing
        names = sorted(m["name"] for m in items)
        if names != [MOUNTED_MODEL]:
            raise SmokeError(f"mounted dir holds only {MOUNTED_MODEL}, service lists {names}")
        log(f"mount check: /v1/models lists {names}")
        ref = Reference(models, MOUNTED_MODEL)
        check_forecasts(base_url, ref, MOUNTED_MODEL)

        t0 = time.monotonic()
        podman("stop", "-t", str(shutdown_seconds + 10), container, timeout=shutdown_seconds + 60)
        took = time.monotonic() - t0
        code = podman("inspect", "--format", "{{.State.ExitCode}}", container)
        if code != "0" or took > shutdown_seconds + 5:
            raise SmokeError(
                f"SIGTERM: exit code {code} after {took:.1f}s (want 0 within "
                f"FORECAST_SHUTDOWN_SECONDS={shutdown_seconds}); logs: {podman_logs(container)}"
            )
        log(f"mount check: SIGTERM -> exit 0 in {took:.1f}s")
    except SmokeError:
        if podman_state(container) != "gone":
            log(f"mount container logs:\n{podman_logs(container)}")
        raise
    finally:
        if ref is not None:
            ref.close()
        podman("rm", "-f", container, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def measure(base_url: str, image: str, requests: int) -> None:
    """Load the checked container, then print its memory and user."""
    body = {"values": VALUES, "horizon": 1}
    t0 = time.monotonic()
    for _ in range(requests):
        status, got = http("POST", f"{base_url}/v1/predict", body)
        if status != 200:
            raise SmokeError(f"load: POST /v1/predict -> {status}: {got}")
    rate = requests / (time.monotonic() - t0)
    log(f"load: {requests} sequential predictions at {rate:.0f} req/s")
    names = podman(
        "ps", "--filter", f"ancestor={image}", "--format", "{{.Names}}", check=False
    ).split()
    names = [n for n in names if n.startswith("container-check-")]
    if len(names) != 1:
        log(f"measure: cannot tell which container serves {base_url} ({names}); skipped")
        return
    name = names[0]
    probe = (
        "import os, pathlib\n"
        "rss = []\n"
        "for p in pathlib.Path('/proc').glob('[0-9]*'):\n"
        "    if int(p.name) == os.getpid():\n"
        "        continue\n"
        "    try:\n"
        "        s = (p / 'status').read_text(); cmd = (p / 'cmdline').read_bytes()\n"
        "    except OSError:\n"
        "        continue\n"
        "    vm = [line.split()[1] for line in s.splitlines() if line.startswith('VmRSS')]\n"
        "    if vm and cmd:  # every process of the service (kernel threads have no RSS)\n"
        "        rss.append(int(vm[0]))\n"
        "cg = None\n"
        "for f in ('/sys/fs/cgroup/memory.current',\n"
        "          '/sys/fs/cgroup/memory/memory.usage_in_bytes'):\n"
        "    if os.path.exists(f):\n"
        "        cg = int(open(f).read()); break\n"
        "print(sum(rss) * 1024, len(rss), cg if cg is not None else -1)\n"
    )
    out = podman("exec", name, "python", "-c", probe, check=False).split()
    who = podman("exec", name, "id", check=False)
    if len(out) == 3:
        rss, procs, cgroup = (int(x) for x in out)
        cg_text = f"{cgroup / 2**20:.0f} MiB" if cgroup >= 0 else "n/a"
        log(
            f"MEASURE memory after smoke: RSS {rss / 2**20:.0f} MiB in {procs} service "
            f"process(es), cgroup memory {cg_text}"
        )
    stats = podman(
        "stats", "--no-stream", "--format", "{{.MemUsage}}", name, check=False, timeout=30
    )
    if stats:
        log(f"MEASURE podman stats: {stats}")
    log(f"MEASURE user: {who}")


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

"""The smoke test's containers: podman as container-check runs it, a container's `/ready`,
the mount check (a second, locked-down container serving a read-only mounted model
directory, stopped with SIGTERM) and the memory and user measured under load.

Used by scripts/smoke.py; see its docstring for the steps and the environment they read.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts.smoke_forecasts import (
    ROOT,
    VALUES,
    Reference,
    SmokeError,
    check_forecasts,
    http,
    log,
)

MOUNTED_MODEL = "milk-seed"
CONTAINER_MODELS = "/models"


# ------------------------------------------------------------------- podman
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

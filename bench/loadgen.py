"""Closed-loop HTTP/1.1 load generator: N keep-alive connections on one asyncio loop, fixed time.

    python -m bench.loadgen --url http://127.0.0.1:8000/v1/predict --body-file body.json \
        --concurrency 8 --duration 5 [--warmup 1] [--max-requests N] [--cpu 1]

prints one JSON object: requests/s, p50/p90/p99/max latency in ms, status counts, errors.

The request is encoded once and the responses read by a minimal parser
(`bench.loadgen_wire`, which says why not httpx), so one core drives tens of thousands
of requests per second (`run_all` measures that against a canned-response server and
reports it).

Each of `concurrency` connections sends a request, waits for the whole response, and sends
the next one (closed loop), so concurrency is exactly the number of requests in flight.
Only loopback addresses are accepted, and every loop ends by time and by count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.loadgen_wire import Target, read_response

ERROR_PAUSE_S = 0.01  # after a failed request: a dead server must not turn into a busy loop


@dataclass
class RunResult:
    """What one fixed-duration run measured (latencies of successful requests, in seconds)."""

    concurrency: int
    seconds: float
    ok: int
    errors: int
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)  # latencies of the other statuses
    server_cpu_s: float | None = None  # CPU time the server process used in the window

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures: throughput of successful requests and latency percentiles."""
        lat = np.array(self.latencies) * 1000.0
        names = ("p50_ms", "p90_ms", "p99_ms")
        pct = dict(zip(names, np.percentile(lat, [50, 90, 99]) if len(lat) else [], strict=False))
        return {
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "rps": self.ok / self.seconds if self.seconds > 0 else 0.0,
            **{k: float(v) for k, v in pct.items()},
            "max_ms": float(lat.max()) if len(lat) else None,
            "refused_p99_ms": float(np.percentile(self.refused, 99) * 1000)
            if self.refused
            else None,
            "refused_max_ms": float(max(self.refused) * 1000) if self.refused else None,
            "server_cpu_s": self.server_cpu_s,
            "cpu_us_per_request": (
                1e6 * self.server_cpu_s / self.ok if self.server_cpu_s and self.ok else None
            ),
        }


class _Budget:
    """Requests still allowed to start; shared by the workers of one loop (no lock needed)."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


async def _worker(
    target: Target,
    budget: _Budget,
    window: tuple[float, float],
    timeout: float,
    expect: int,
    result: RunResult,
) -> None:
    """One connection: request, wait, repeat until the deadline or the budget runs out."""
    start, deadline = window
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.perf_counter() < deadline and budget.take():
        sent = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.wait_for(
                    asyncio.open_connection(target.host, target.port), timeout
                )
            conn[1].write(target.raw)
            status, keep = await asyncio.wait_for(read_response(conn[0]), timeout)
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ) as exc:
            if start <= time.perf_counter() <= deadline:
                result.errors += 1
                result.statuses[type(exc).__name__] += 1
            _close(conn)
            conn = None
            await asyncio.sleep(ERROR_PAUSE_S)
            continue
        done = time.perf_counter()
        if start <= done <= deadline:  # completions inside the window, whenever sent
            result.statuses[str(status)] += 1
            if status == expect:
                result.ok += 1
                result.latencies.append(done - sent)
            else:
                result.errors += 1
                result.refused.append(done - sent)
        if not keep:
            _close(conn)
            conn = None
    _close(conn)


def _close(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if conn is not None:
        conn[1].close()


async def run(
    target: Target,
    concurrency: int,
    duration: float,
    warmup: float = 0.0,
    max_requests: int = 10_000_000,
    timeout: float = 30.0,
    expect: int = 200,
    server_pid: int | None = None,
) -> RunResult:
    """Drive `concurrency` connections for `warmup` + `duration` seconds (or `max_requests`).

    Counted: the requests that complete inside the measured window, whenever they
    were sent (so slow servers are not undercounted), with their full latency. When
    the budget of requests ends the run early, the window ends at the last completion.
    With `server_pid`, the CPU time that process used inside the window is recorded:
    CPU per request does not depend on how much of the CPU other processes took.
    """
    result = RunResult(concurrency, 0.0, 0, 0)
    start = time.perf_counter() + warmup
    window = (start, start + duration)
    budget = _Budget(max_requests)
    cpu: list[float | None] = []
    sampler = asyncio.ensure_future(_sample_cpu(server_pid, window, cpu)) if server_pid else None
    workers = [_worker(target, budget, window, timeout, expect, result) for _ in range(concurrency)]
    await asyncio.wait_for(asyncio.gather(*workers), warmup + duration + 2 * timeout + 5)
    result.seconds = min(time.perf_counter(), window[1]) - start
    if sampler is not None and server_pid is not None:
        if not sampler.done():  # the budget ended the run before the window did
            sampler.cancel()
            cpu.append(process_cpu_seconds(server_pid))
        begin, end = [*cpu, None, None][:2]
        if begin is not None and end is not None:
            result.server_cpu_s = end - begin
    return result


async def _sample_cpu(pid: int, window: tuple[float, float], out: list[float | None]) -> None:
    """Append the process's CPU seconds at the window's start, then at its end."""
    for moment in window:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))
        out.append(process_cpu_seconds(pid))


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, all threads (Linux /proc); None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_sync(target: Target, concurrency: int, duration: float, **kwargs: Any) -> RunResult:
    """`run` on a fresh event loop (uvloop when installed, as uvicorn[standard] brings it)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(target, concurrency, duration, **kwargs))
    return uvloop.run(run(target, concurrency, duration, **kwargs))


def pin_to_cpu(cpu: int | None) -> None:
    """Run this process on one CPU only (Linux); a no-op elsewhere or when `cpu` is None."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path")
    parser.add_argument("--method", default="POST")
    parser.add_argument(
        "--header", action="append", default=[], help="extra `Name: value` header (repeatable)"
    )
    parser.add_argument("--body-file", type=Path, help="request body (JSON); none for GET")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=0.0, help="unmeasured seconds first")
    parser.add_argument("--max-requests", type=int, default=10_000_000)
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--expect", type=int, default=200, help="status counted as success")
    parser.add_argument("--cpu", type=int, help="pin the generator to this CPU")
    parser.add_argument("--server-pid", type=int, help="report this process's CPU per request")
    args = parser.parse_args(argv)
    if not (1 <= args.concurrency <= 1024 and 0 < args.duration <= 3600):
        parser.error("--concurrency must be 1-1024 and --duration 0-3600 s")
    pin_to_cpu(args.cpu)
    body = args.body_file.read_bytes() if args.body_file else None
    target = Target.build(args.url, body, args.method, tuple(args.header))
    result = run_sync(
        target,
        args.concurrency,
        args.duration,
        warmup=args.warmup,
        max_requests=args.max_requests,
        timeout=args.timeout,
        expect=args.expect,
        server_pid=args.server_pid,
    )
    json.dump(result.summary(), sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

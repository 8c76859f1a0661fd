"""Hostile artifacts whose hashes match: what someone who can write the model directory can plant.

Each builder turns a copy of a valid version directory into a hostile one and
rewrites the manifest's sha256 for the file it changed, so the hash check
passes and only the reader's own bounds stand between the file and the
service's memory (or its watcher thread). Nothing here imports `app`, so the
same files can be planted before a server of any checkout (see
`tests/reliability/artifact_probe.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import threading
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py

WEIGHTS, CONFIG = "model.weights.h5", "config.json"


def rehash(version_dir: Path, name: str) -> None:
    """Make the manifest vouch for `name` as it is now (the attacker's last step)."""
    path = version_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"][name] = hashlib.sha256((version_dir / name).read_bytes()).hexdigest()
    path.write_text(json.dumps(manifest))


def ndarray_pickle(count: int, dtype: str) -> bytes:
    """`numpy.ndarray((count,), dtype)` as a protocol-0 pickle: about 40 bytes, any size."""
    return b"cnumpy\nndarray\n((I%d\ntS'%s'\ntR." % (count, dtype.encode())


def scalar_pickle(itemsize: int) -> bytes:
    """`numpy._core.multiarray.scalar(numpy.dtype('S<itemsize>'))`: a zeroed scalar of that size."""
    return b"cnumpy._core.multiarray\nscalar\n(cnumpy\ndtype\n(S'S%d'\ntRtR." % itemsize


def wrapper_pickle(count: int) -> bytes:
    """A joblib array placeholder claiming `count` float64s, followed by none of them."""
    return (
        b"\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81"
        b"(S'subclass'\ncnumpy\nndarray\nS'shape'\n(I%d\ntS'order'\nS'C'\n"
        b"S'dtype'\ncnumpy\ndtype\n(S'f8'\ntRS'allow_mmap'\nI00\ndb." % count
    )


def plant_scaler(version_dir: Path, payload: bytes) -> None:
    (version_dir / "scaler.joblib").write_bytes(payload)
    rehash(version_dir, "scaler.joblib")


def first_network(version_dir: Path) -> str:
    names: list[str] = json.loads((version_dir / "manifest.json").read_text())["networks"]
    return names[0]


def rewrite_keras(path: Path, entry: str, write: Callable[[zipfile.ZipFile], None]) -> None:
    """Replace `entry` of a `.keras` zip by whatever `write` puts in its place."""
    original = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            if info.filename != entry:
                dst.writestr(info, src.read(info.filename))
        write(dst)


def edit_network(
    version_dir: Path,
    config: Callable[[dict[str, Any]], None] | None = None,
    weights: Callable[[h5py.File], None] | None = None,
) -> None:
    """Edit the first network's `config.json` and `model.weights.h5` in place, then rehash."""
    name = first_network(version_dir)
    with zipfile.ZipFile(version_dir / name) as archive:
        parsed, buffer = json.loads(archive.read(CONFIG)), io.BytesIO(archive.read(WEIGHTS))
    if config is not None:
        config(parsed)
        text = json.dumps(parsed)
        rewrite_keras(version_dir / name, CONFIG, lambda z: z.writestr(CONFIG, text))
    if weights is not None:
        with h5py.File(buffer, "r+") as h5:
            weights(h5)
        rewrite_keras(version_dir / name, WEIGHTS, lambda z: z.writestr(WEIGHTS, buffer.getvalue()))
    rehash(version_dir, name)


def hdf5_bomb(version_dir: Path, side: int = 15_000) -> None:
    """The first LSTM kernel becomes a `side` x `side` float32 dataset, stored as a few KB.

    Its chunks are never written, so HDF5 stores nothing and reads the fill value:
    the file stays tiny while reading the dataset allocates side² floats.
    """

    def plant(h5: h5py.File) -> None:
        kernel = next(k for k in _datasets(h5) if k.endswith("cell/vars/0"))
        del h5[kernel]
        chunks = (min(side, 1000),) * 2
        h5.create_dataset(kernel, (side, side), "f4", chunks=chunks, compression="gzip")

    edit_network(version_dir, weights=plant)


def huge_units_without_bias(version_dir: Path, units: int = 100_000_000) -> None:
    """The first LSTM says `units` and no bias, its bias dataset gone: the rest still reads.

    A reader that trusts the config allocates the missing bias, 4 x units zeros.
    """

    def config(parsed: dict[str, Any]) -> None:
        lstm = next(c for c in parsed["config"]["layers"] if c["class_name"] == "LSTM")
        lstm["config"].update(units=units, use_bias=False)

    def weights(h5: h5py.File) -> None:
        del h5[next(k for k in _datasets(h5) if k.endswith("cell/vars/2"))]

    edit_network(version_dir, config, weights)


def _datasets(h5: h5py.File) -> list[str]:
    found: list[str] = []
    h5.visititems(lambda n, o: found.append(n) if isinstance(o, h5py.Dataset) else None)
    return found


def external_weights(version_dir: Path, target: Path, link: bool) -> None:
    """The first network's last weight array lives in `target`: by an external link (`link`),
    or as a dataset whose raw data HDF5 reads from that file (external storage)."""

    def plant(h5: h5py.File) -> None:
        last = sorted(k for k in _datasets(h5) if k.startswith("layers/"))[-1]
        shape = h5[last].shape
        del h5[last]
        if link:
            h5[last] = h5py.ExternalLink(str(target), "/weights")
        else:
            h5.create_dataset(last, shape, "f4", external=[(str(target), 0, 4 * math.prod(shape))])

    edit_network(version_dir, weights=plant)


def zip_bomb(version_dir: Path, mib: int = 400) -> None:
    """The weights entry becomes `mib` MiB of zeros, deflated to about a thousandth of that."""
    name = first_network(version_dir)

    def write(archive: zipfile.ZipFile) -> None:
        zero = bytes(1 << 20)
        info = zipfile.ZipInfo(WEIGHTS)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as entry:
            for _ in range(mib):
                entry.write(zero)

    rewrite_keras(version_dir / name, WEIGHTS, write)
    rehash(version_dir, name)


def fifo(version_dir: Path, name: str = "report.png") -> None:
    """`name` becomes a FIFO nobody writes to: reading it blocks for ever."""
    (version_dir / name).unlink()
    os.mkfifo(version_dir / name)


def release(path: Path) -> None:
    """Give a reader stuck on FIFO `path` its end of file (nothing, if no reader has it open).

    A reader stuck for ever would hold its thread, and whatever lock it took, for the
    rest of the test session (h5py's global lock, when the service read weights with it).
    """
    with contextlib.suppress(OSError):  # ENXIO: no reader, nothing to release
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def dev_zero(version_dir: Path, name: str = "report.png") -> None:
    """`name` becomes a symlink to /dev/zero: hashing it never reaches the end."""
    (version_dir / name).unlink()
    (version_dir / name).symlink_to("/dev/zero")


def calibration_residuals(version_dir: Path, edit: Callable[[list[list[float]]], None]) -> None:
    """Edit the residuals of `calibration.json` in place (NaN, negatives...), rehashed."""
    path = version_dir / "calibration.json"
    calibration = json.loads(path.read_text())
    edit(calibration["residuals"])
    path.write_text(json.dumps(calibration))  # json writes NaN and Infinity as such
    rehash(version_dir, "calibration.json")


def nan_residual(residuals: list[list[float]]) -> None:
    residuals[0][-1] = float("nan")


def infinite_residual(residuals: list[list[float]]) -> None:
    residuals[1][-1] = float("inf")


def negative_residual(residuals: list[list[float]]) -> None:
    residuals[0][0] = -1.0


def unsorted_residuals(residuals: list[list[float]]) -> None:
    residuals[2].reverse()


MEMORY_BOUND_MB = 64
"""What a refused hostile file may cost, as tracemalloc sees it (NumPy's and Python's
allocations): generous next to what refusing one costs (kilobytes), far below what these
files cost a reader that trusts them (hundreds of MB to GB)."""


def peak_mb(action: Callable[[], object]) -> tuple[BaseException | None, float]:
    """What `action` raised (None if nothing), and the most memory it held at once, in MB.

    tracemalloc sees Python's and NumPy's allocations, which is where a trusting
    reader spends the memory these files ask for.
    """
    tracemalloc.start()
    try:
        action()
        raised = None
    except Exception as exc:
        raised = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return raised, peak


def within(seconds: float, action: Callable[[], object]) -> BaseException | None:
    """Run `action` in a thread; fail unless it ends within `seconds`. Returns what it raised."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)  # a reader stuck for ever stays behind
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still reading after {seconds} s"
    return outcome[0]


def rss_peak_kib(pid: int) -> int:
    """VmHWM of a process: its peak resident memory so far, from the kernel."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")

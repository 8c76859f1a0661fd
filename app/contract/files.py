"""Reading a version directory's files: each once, whole, within bounds, never blocking.

The model directory is written by training (or whoever deploys models), and a
file whose hash matches the manifest may still be anything its writer chose. So
the reader takes nothing on trust: a file must be a regular file directly in
the version directory, a symbolic link is refused wherever it points (even
inside the directory: training never writes one, and refusing all is one rule
with no resolution to get wrong), and a FIFO, device or socket is refused before
it is opened, so nothing can block the thread that reads it. A file may hold at
most `MAX_BYTES` of its kind, checked on the open file before it is read, and a
version at most `MAX_VERSION_BYTES` in all.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from types import TracebackType

from app.errors import ArtifactError

MAX_BYTES = {
    "manifest": 256 << 10,  # milk/2's is 6.6 KB
    "scaler": 64 << 10,  # a fitted one-feature scaler pickles to about 600 bytes
    "calibration": 8 << 20,  # milk/2's is 18 KB; `Calibration` bounds the residuals' count
    "network": 10 << 20,  # milk/2's are 39 KB; the engine bounds the weights (1M at most)
    "other": 4 << 20,  # report.png (about 150 KB), and any other file the manifest lists
    "series": 128 << 20,  # 100,000 series' columns are about 30 MB
    "histories": 256 << 20,  # 100,000 monthly series x 261 values (all memories) x 8 B = 209 MB
    # Read by `--from-store` training only, never by serving: about 12 million rows.
    "training-data": 384 << 20,
}
"""Most bytes one file of each kind may hold."""
MAX_VERSION_BYTES = 384 << 20
"""Most bytes one version's files may hold together: a version is read whole into memory.
All but about 20 MB of it can only be a series table (`app.contract.series`)."""


class MissingFile(ArtifactError):
    """A file the manifest names is not there."""


class VersionDirectory:
    """An open version directory; its files are read through it, by name, within bounds.

    Files are opened relative to the directory's own descriptor, so every file
    comes from the directory that was opened, even if the path is renamed meanwhile.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise ArtifactError(f"{path}: cannot open ({exc.strerror or exc})") from None
        self.bytes_read = 0

    def __enter__(self) -> VersionDirectory:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        os.close(self._fd)

    def read(self, name: str, kind: str) -> bytes:
        """The whole of file `name`, which must be a regular file of at most `MAX_BYTES[kind]`.

        `lstat` refuses links and anything but a regular file before it is opened;
        the open (non-blocking, not following links) and `fstat` then check the
        file actually opened, in case it was swapped in between.
        """
        path, limit = self.path / name, MAX_BYTES[kind]
        if Path(name).name != name or name in ("", ".", ".."):
            raise ArtifactError(f"{self.path}: manifest names a file outside it: {name!r}")
        try:
            _require_regular(path, os.stat(name, dir_fd=self._fd, follow_symlinks=False), limit)
            fd = os.open(name, _OPEN_FLAGS, dir_fd=self._fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # swapped for a link since the lstat
                raise ArtifactError(f"{path}: is a symbolic link; {_RULE}") from None
            if exc.errno == errno.ENOENT:
                raise MissingFile(f"{path}: cannot read (no such file)") from None
            raise ArtifactError(f"{path}: cannot read ({exc.strerror or exc})") from None
        try:
            _require_regular(path, os.fstat(fd), limit)
            data = _read_at_most(fd, limit + 1)
        finally:
            os.close(fd)
        if len(data) > limit:
            raise ArtifactError(f"{path}: grew past {limit:,} bytes while it was read")
        self.bytes_read += len(data)
        if self.bytes_read > MAX_VERSION_BYTES:
            raise ArtifactError(
                f"{self.path}: its files hold more than {MAX_VERSION_BYTES:,} bytes in all"
            )
        return data


_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_RULE = "a version's files must be regular files in its directory"
_NOT_REGULAR = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def _require_regular(path: Path, info: os.stat_result, limit: int) -> None:
    kind = stat.S_IFMT(info.st_mode)
    if kind != stat.S_IFREG:
        raise ArtifactError(f"{path}: is {_NOT_REGULAR.get(kind, 'not a regular file')}; {_RULE}")
    if info.st_size > limit:
        raise ArtifactError(
            f"{path}: {info.st_size:,} bytes; a file of its kind may hold at most {limit:,}"
        )


def _read_at_most(fd: int, count: int) -> bytes:
    chunks = []
    while count > 0 and (chunk := os.read(fd, min(count, 1 << 20))):
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)

"""Cheap fingerprints of the model directory: has anything in a version changed since last time?

A fingerprint is what `lstat` says about a version directory and every entry in
it (name, type and mode, size, inode, modification and change times): no file
is opened, no link followed, so a FIFO or a link to `/dev/zero` costs one
`lstat` like any file. Any write, replacement (new inode), `touch`, `chmod` or
`chown` changes it: a version fixed in place (a bad file replaced by the good
one, the manifest untouched) or made readable is noticed, and an unchanged one
is not read again. The change time (`ctime`) is the part nobody can set back:
a file restored with its old modification time (`cp -p`, `rsync -t`) still
differs. The one change missed is a rewrite with the same size within the
filesystem's timestamp granularity (nanoseconds on ext4, xfs and tmpfs).

Content hashes would miss nothing, but would read every byte of every version on
every poll; the watcher and the registry only need to know *whether* to verify
again, and verification itself hashes the bytes it parses.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.contract.store import list_versions

Mark = tuple[str, int, int, int, int, int]
"""One entry: name, mode (type and permissions), size, inode, mtime_ns, ctime_ns."""
VersionPrint = tuple[Mark, ...]
ModelPrint = tuple[tuple[int, VersionPrint], ...]


def version_print(version_dir: Path) -> VersionPrint:
    """The version directory's own mark, then each entry's, by name (files are flat: see
    `app.contract.files`). A directory that cannot be listed (or read) has its own mark only."""
    try:
        own = _mark(version_dir.name, version_dir.lstat())
    except OSError:  # removed meanwhile
        return ()
    try:
        with os.scandir(version_dir) as entries:
            marks = [_mark(e.name, e.stat(follow_symlinks=False)) for e in entries]
    except OSError:  # unreadable, or an entry removed while being listed
        return (own,)
    return (own, *sorted(marks))


def model_print(model_dir: Path) -> ModelPrint:
    """Every version of one model with its fingerprint; () when the directory is not there."""
    try:
        versions = list_versions(model_dir)
    except OSError:  # removed or locked while being listed
        return ()
    return tuple((v, version_print(model_dir / str(v))) for v in versions)


def _mark(name: str, st: os.stat_result) -> Mark:
    return (name, st.st_mode, st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)

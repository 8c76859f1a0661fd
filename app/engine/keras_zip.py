"""Reading a Keras 3 ``.keras`` zip's config and weights, each entry bounded before it inflates.

A zip says how big its entries are, and may lie; a 400 KB entry of deflated
zeros inflates to 400 MB. So each entry is refused above its `MAX_ENTRY_BYTES`,
declared or actually inflated (the read itself stops one byte past the limit),
and the central directory, which `zipfile` parses whole on opening, is bounded
before it is parsed.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from typing import Any

from app.engine.errors import ModelFormatError, UnsupportedModelError

MAX_ENTRY_BYTES = {"config.json": 256 << 10, "metadata.json": 64 << 10, "model.weights.h5": 8 << 20}
"""Most bytes each archive entry may hold once decompressed (1M float32 weights are 4 MB)."""
MAX_DIRECTORY_BYTES = 64 << 10
"""Most bytes of the zip's central directory, which `zipfile` parses whole on opening (about
500 bytes of memory per entry); a Keras archive has three entries in about 200 bytes."""
_WEIGHTS = "model.weights.h5"


def read_archive(data: bytes, where: str) -> tuple[dict[str, Any], bytes]:
    """Return (config.json, model.weights.h5 bytes); every failure becomes ModelFormatError."""
    _check_directory(data, where)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if missing := sorted({"config.json", _WEIGHTS} - names):
                raise ModelFormatError(f"{where}: not a Keras model archive (no {missing[0]})")
            config = json.loads(_entry(zf, "config.json", where))
            has_meta = "metadata.json" in names
            meta = json.loads(_entry(zf, "metadata.json", where)) if has_meta else {}
            weights = _entry(zf, _WEIGHTS, where)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError) as exc:
        raise ModelFormatError(f"{where}: cannot read model archive ({exc})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFormatError(f"{where}: invalid JSON in model archive ({exc})") from exc
    version = str(meta.get("keras_version", "3")) if isinstance(meta, dict) else "?"
    if version.split(".")[0] != "3" or not isinstance(config, dict):
        raise UnsupportedModelError(f"{where}: not a Keras 3 model (keras_version {version})")
    return config, weights


def _entry(zf: zipfile.ZipFile, name: str, where: str) -> bytes:
    """An entry's bytes, refused when its declared size, or the bytes it really inflates to,
    exceed its `MAX_ENTRY_BYTES`: a 400 KB deflated entry can hold 400 MB of zeros."""
    limit, info = MAX_ENTRY_BYTES[name], zf.getinfo(name)
    if info.file_size <= limit:
        with zf.open(info) as entry:
            data = entry.read(limit + 1)  # never more, whatever the header said
        if len(data) <= limit:
            return data
    raise ModelFormatError(
        f"{where}: {name} inflates to more than {limit:,} bytes (declared {info.file_size:,})"
    )


def _check_directory(data: bytes, where: str) -> None:
    """Refuse a central directory over `MAX_DIRECTORY_BYTES` before `zipfile` parses it.

    Finds the end-of-directory record as `zipfile` does (at the very end, else the
    last one within a comment's reach); a zip64 archive is refused outright, since
    Keras writes none for a file this size. Anything unparsable is left to `zipfile`.
    """
    tail = len(data) - 22
    if not (data[tail : tail + 4] == _END and data[-2:] == b"\0\0"):
        tail = data.rfind(_END, max(0, len(data) - (1 << 16) - 22))
    if tail < 0:
        return
    if data[tail - 20 : tail - 16] == _ZIP64_LOCATOR:
        raise ModelFormatError(f"{where}: a zip64 archive is not a Keras model archive")
    if len(data) >= tail + 16:
        size = int.from_bytes(data[tail + 12 : tail + 16], "little")
        if size > MAX_DIRECTORY_BYTES:
            raise ModelFormatError(
                f"{where}: zip directory of {size:,} bytes; at most {MAX_DIRECTORY_BYTES:,}"
            )


_END, _ZIP64_LOCATOR = b"PK\x05\x06", b"PK\x06\x07"

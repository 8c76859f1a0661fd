"""A reader for the HDF5 files Keras writes, without h5py: the subset h5py writes by default.

Why not h5py: importing it and opening one file cost each serving process about 12 MiB
of resident memory (HDF5's library and free lists), an eighth of the process, to read
a few thousand numbers once at load (BENCHMARKS.md, "Measurements behind design
choices"). And it hands untrusted bytes to a large C library, where a reader of the
one layout Keras uses can bound every read itself.

What it reads is what `h5py.File(path, "w")` writes with its default (earliest)
format, as Keras 3's `model.weights.h5` is: superblock version 0, version-1
object headers, groups as symbol tables (a v1 B-tree of symbol-table nodes, names
in a local heap), datasets of little-endian IEEE floats stored contiguously or
compactly, and attributes whose strings live in the global heap. Anything else
(newer group or header formats, chunked or filtered or external storage, soft or
external links, shared messages) is refused with `HDF5Error`, which says what it
found. Every address is checked against the file's length before it is read, a
B-tree is walked to a bounded depth and never twice through one node, and no
read allocates more than the bytes it reads from the file.

The spec: https://docs.hdfgroup.org/hdf5/latest/_f_m_t3.html
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

SIGNATURE = b"\x89HDF\r\n\x1a\n"
UNDEFINED = 0xFFFF_FFFF_FFFF_FFFF
MAX_DEPTH = 16  # of a B-tree or a chain of header continuations: a Keras file needs 2 or 3
MAX_NODES = 10_000  # B-tree nodes, symbol-table nodes and header blocks visited in one file

# Object header message types (spec IV.A.2).
NIL, DATASPACE, LINK_INFO, DATATYPE, FILL_OLD, FILL = 0x0, 0x1, 0x2, 0x3, 0x4, 0x5
LINK, EXTERNAL, LAYOUT, GROUP_INFO, FILTERS, ATTRIBUTE = 0x6, 0x7, 0x8, 0xA, 0xB, 0xC
COMMENT, CONTINUATION, SYMBOL_TABLE, MODIFIED = 0xD, 0x10, 0x11, 0x12
IGNORED = frozenset({NIL, FILL_OLD, FILL, COMMENT, MODIFIED})
REFUSED = {
    LINK_INFO: "a new-style group (link messages)",
    LINK: "a new-style group (link messages)",
    GROUP_INFO: "a new-style group (link messages)",
}
UNREADABLE = {  # a dataset with these is refused when read, after its shape was checked
    EXTERNAL: "external storage: its data lives in another file",
    FILTERS: "a filter pipeline (compression)",
}
# IEEE 754 little-endian floats as the datatype message describes them: size -> properties
# (bit offset, precision, exponent location, exponent size, mantissa location and size, bias).
FLOATS = {4: (0, 32, 23, 8, 0, 23, 127), 8: (0, 64, 52, 11, 0, 52, 1023)}


class HDF5Error(ValueError):
    """The bytes are not an HDF5 file of the subset this reader accepts; says why."""


@contextmanager
def _malformed(where: str) -> Iterator[None]:
    """Whatever a damaged structure makes the parsing trip on is an `HDF5Error` too."""
    try:
        yield
    except (struct.error, IndexError, OverflowError) as exc:
        raise HDF5Error(f"{where}: malformed ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class _Messages:
    """An object's header messages, by type, in file order."""

    found: dict[int, list[bytes]]

    def one(self, kind: int) -> bytes | None:
        found = self.found.get(kind, [])
        return found[0] if found else None


class File:
    """An HDF5 file held in memory; `root` is its root group."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self._budget = MAX_NODES
        with _malformed("the superblock"):
            self._open()

    def _open(self) -> None:
        if bytes(self.data[:8]) != SIGNATURE:
            raise HDF5Error("not an HDF5 file (no signature at offset 0)")
        version, sizes = self._bytes(8, 1)[0], self._bytes(13, 2)
        if version != 0 or sizes != b"\x08\x08":
            raise HDF5Error(
                f"superblock version {version} with {sizes[0]}-byte addresses: only version 0"
                " with 8-byte addresses (h5py's default format) is read"
            )
        self._leaf_k, self._node_k = struct.unpack_from("<HH", self.data, 16)
        if self._u64(24) != 0:
            raise HDF5Error("a base address other than 0 (a user block) is not read")
        self.root = Group(self, self._symbol_entry(56)[1], "/")

    # Primitive reads, each bounded by the file's length.

    def _bytes(self, at: int, size: int) -> bytes:
        if at < 0 or size < 0 or at + size > len(self.data):
            raise HDF5Error(
                f"{size} bytes at offset {at} lie outside the {len(self.data)}-byte file"
            )
        return bytes(self.data[at : at + size])

    def _u64(self, at: int) -> int:
        value: int = struct.unpack("<Q", self._bytes(at, 8))[0]
        return value

    def _visit(self) -> None:
        self._budget -= 1
        if self._budget < 0:
            raise HDF5Error(f"more than {MAX_NODES} nodes: not a weights file")

    def _symbol_entry(self, at: int) -> tuple[int, int, int]:
        """(name offset in the heap, object header address, cache type: 2 is a soft link)."""
        name, header, cache = struct.unpack("<QQI", self._bytes(at, 20))
        return name, header, cache

    # Object headers (version 1) and their messages.

    def messages(self, address: int, path: str) -> _Messages:
        """The header messages of the object at `address` (`path` names it in errors)."""
        self._visit()
        version, count, size = (
            self._bytes(address, 1)[0],
            *struct.unpack("<HxxxxI", self._bytes(address + 2, 10)),
        )
        if version != 1:
            raise HDF5Error(f"{path}: object header version {version}; only version 1 is read")
        found: dict[int, list[bytes]] = {}
        blocks = [(address + 16, size)]
        depth = 0
        while blocks:
            start, length = blocks.pop()
            at, end = start, start + length
            self._bytes(start, length)  # the whole block lies inside the file
            while at + 8 <= end and count > 0:
                kind, msg_size, flags = struct.unpack("<HHB", self._bytes(at, 5))
                body = self._bytes(at + 8, msg_size)
                at += 8 + msg_size
                count -= 1
                if flags & 0x02:
                    raise HDF5Error(f"{path}: a shared message (type {kind}) is not read")
                if kind in REFUSED:
                    raise HDF5Error(f"{path}: {REFUSED[kind]} is not read")
                if kind == CONTINUATION:
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise HDF5Error(f"{path}: too many header continuations")
                    self._visit()
                    blocks.append(struct.unpack("<QQ", body[:16]))
                elif kind not in IGNORED:
                    found.setdefault(kind, []).append(body)
        return _Messages(found)

    # Groups as symbol tables: a v1 B-tree of symbol-table nodes, names in a local heap.

    def symbol_table(self, btree: int, heap: int) -> dict[str, tuple[int, int]]:
        """name -> (object header address, cache type) of every entry."""
        names = self._local_heap(heap)
        entries: dict[str, tuple[int, int]] = {}
        for node in self._leaves(btree, set(), 0):
            self._visit()
            if self._bytes(node, 4) != b"SNOD":
                raise HDF5Error(f"no symbol-table node at {node}")
            count = struct.unpack("<H", self._bytes(node + 6, 2))[0]
            if count > 2 * self._leaf_k:
                raise HDF5Error(f"symbol-table node at {node} holds {count} entries")
            for i in range(count):
                offset, header, cache = self._symbol_entry(node + 8 + 40 * i)
                entries[_name(names, offset)] = (header, cache)
        return entries

    def _leaves(self, node: int, seen: set[int], depth: int) -> list[int]:
        """Addresses of the symbol-table nodes under B-tree node `node`, in key order."""
        if node in seen or depth > MAX_DEPTH:
            raise HDF5Error(f"the group B-tree at {node} loops or is too deep")
        seen.add(node)
        self._visit()
        if self._bytes(node, 4) != b"TREE":
            raise HDF5Error(f"no B-tree node at {node}")
        kind, level, used = struct.unpack("<BBH", self._bytes(node + 4, 4))
        if kind != 0 or used > 2 * self._node_k:
            raise HDF5Error(f"B-tree node at {node}: type {kind} with {used} entries")
        # keys and children alternate after the header: key, child, key, ..., key (8 bytes each)
        children = [self._u64(node + 24 + 8 + 16 * i) for i in range(used)]
        if level == 0:
            return children
        return [leaf for child in children for leaf in self._leaves(child, seen, depth + 1)]

    def _local_heap(self, address: int) -> bytes:
        if self._bytes(address, 4) != b"HEAP":
            raise HDF5Error(f"no local heap at {address}")
        size, _, data = struct.unpack("<QQQ", self._bytes(address + 8, 24))
        return self._bytes(data, size)

    def global_heap_object(self, collection: int, index: int) -> bytes:
        """Object `index` of the global heap collection at `collection` (strings of attributes)."""
        if self._bytes(collection, 4) != b"GCOL":
            raise HDF5Error(f"no global heap collection at {collection}")
        size = self._u64(collection + 8)
        at, end = collection + 16, collection + size
        self._bytes(collection, size)
        while at + 16 <= end:
            self._visit()
            found, length = struct.unpack("<H6xQ", self._bytes(at, 16))
            if found == 0:
                break
            if found == index:
                return self._bytes(at + 16, length)
            at += 16 + (length + 7) // 8 * 8
        raise HDF5Error(f"no object {index} in the global heap collection at {collection}")


def _name(heap: bytes, offset: int) -> str:
    end = heap.find(b"\x00", offset)
    if offset >= len(heap) or end < 0:
        raise HDF5Error(f"a link name at heap offset {offset} runs past the heap")
    return heap[offset:end].decode("utf-8", "replace")


class Group:
    """A group: its members by name (hard links only) and its attributes."""

    def __init__(self, file: File, header: int, path: str) -> None:
        self.file, self.path = file, path
        with _malformed(path):
            self._messages = file.messages(header, path)
            table = self._messages.one(SYMBOL_TABLE)
            if table is None:
                raise HDF5Error(f"{path} is not a group")
            btree, heap = struct.unpack("<QQ", table[:16])
            self._entries = file.symbol_table(btree, heap)
        self._members: dict[str, Group | Dataset] = {}  # parsed once, however often asked

    def names(self) -> list[str]:
        return list(self._entries)

    def get(self, name: str) -> Group | Dataset | None:
        """The member `name`; a soft link is refused: it could name anything."""
        if name in self._members:
            return self._members[name]
        entry = self._entries.get(name)
        if entry is None:
            return None
        header, cache = entry
        path = f"{self.path.rstrip('/')}/{name}"
        if cache == 2:
            raise HDF5Error(f"{path}: is an HDF5 soft link; weights must be stored inline")
        with _malformed(path):
            messages = self.file.messages(header, path)
            member: Group | Dataset
            if messages.one(SYMBOL_TABLE) is not None:
                member = Group(self.file, header, path)
            else:
                member = Dataset(self.file, messages, path)
        self._members[name] = member
        return member

    def attribute(self, name: str) -> str | None:
        """The string attribute `name` (as Keras writes a layer's name), None if absent."""
        with _malformed(f"{self.path}@{name}"):
            for body in self._messages.found.get(ATTRIBUTE, []):
                found, kind, shape, data = _attribute(body)
                if found == name:
                    return _string(self.file, kind, shape, data, f"{self.path}@{name}")
        return None


class Dataset:
    """A dataset: its shape now; its values, if they are floats, when `read`."""

    def __init__(self, file: File, messages: _Messages, path: str) -> None:
        self.file, self.path = file, path  # built inside Group.get's `_malformed`
        space, kind, layout = (messages.one(k) for k in (DATASPACE, DATATYPE, LAYOUT))
        if space is None or kind is None or layout is None:
            raise HDF5Error(f"{path}: not a dataset (no dataspace, datatype or layout)")
        self.shape = _dataspace(space, path)
        self._type, self._layout = kind, layout
        self._unreadable = [why for key, why in UNREADABLE.items() if messages.one(key)]

    def read(self) -> npt.NDArray[Any]:
        """The values, as stored (the caller has checked the shape: nothing else is read)."""
        with _malformed(self.path):
            return self._read()

    def _read(self) -> npt.NDArray[Any]:
        if self._unreadable:
            raise HDF5Error(f"{self.path}: {self._unreadable[0]} is not read")
        dtype = _float(self._type, self.path)
        size = math.prod(self.shape) * dtype.itemsize
        version, layout = self._layout[0], self._layout[1]
        if version != 3 or layout not in (0, 1):
            kinds = {2: "chunked"}
            raise HDF5Error(
                f"{self.path}: {kinds.get(layout, f'layout {layout}')} storage (message version"
                f" {version}) is not read; weights must be stored contiguously"
            )
        if layout == 0:  # compact: the data is in the message itself
            stored = struct.unpack("<H", self._layout[2:4])[0]
            raw = self._layout[4 : 4 + stored]
        else:
            address, stored = struct.unpack("<QQ", self._layout[2:18])
            raw = b"" if address == UNDEFINED and size == 0 else self.file._bytes(address, size)
        if stored != size or len(raw) != size:
            raise HDF5Error(f"{self.path}: {stored} bytes stored for {self.shape} {dtype}")
        return np.frombuffer(raw, dtype).reshape(self.shape)


def _dataspace(body: bytes, path: str) -> tuple[int, ...]:
    version, rank, flags = body[0], body[1], body[2]
    if version == 1:
        dims_at = 8
    elif version == 2:
        dims_at = 4
        if body[3] == 2:  # null dataspace
            return ()
    else:
        raise HDF5Error(f"{path}: dataspace version {version} is not read")
    if rank > 32 or len(body) < dims_at + 8 * rank * (2 if flags & 1 else 1):
        raise HDF5Error(f"{path}: malformed dataspace")
    return struct.unpack_from(f"<{rank}Q", body, dims_at)


def _float(body: bytes, path: str) -> np.dtype[Any]:
    """The numpy dtype of a little-endian IEEE float datatype; anything else is refused."""
    kind, bits, sign, size = body[0] & 0x0F, body[1], body[2], struct.unpack("<I", body[4:8])[0]
    properties = struct.unpack("<HHBBBBI", body[8:20]) if len(body) >= 20 else None
    # little-endian (bits 0 and 6 clear), IEEE's implied leading mantissa bit (bits 4-5: 2)
    ieee = kind == 1 and bits & 0x71 == 0x20 and sign == 8 * size - 1
    if not ieee or FLOATS.get(size) != properties:
        raise HDF5Error(f"{path}: weights must be little-endian IEEE floats")
    return np.dtype(f"<f{size}")


def _attribute(body: bytes) -> tuple[str, bytes, bytes, bytes]:
    """(name, datatype, dataspace, data) of an attribute message, version 1."""
    if body[0] != 1:
        raise HDF5Error(f"attribute message version {body[0]} is not read")
    name_size, type_size, space_size = struct.unpack("<HHH", body[2:8])
    pad = lambda n: (n + 7) // 8 * 8  # noqa: E731 - version 1 pads each part to 8 bytes
    at = 8
    name = body[at : at + name_size].rstrip(b"\x00").decode("utf-8", "replace")
    at += pad(name_size)
    kind = body[at : at + type_size]
    at += pad(type_size)
    space = body[at : at + space_size]
    return name, kind, space, body[at + pad(space_size) :]


def _string(file: File, kind: bytes, space: bytes, data: bytes, where: str) -> str:
    """A scalar string attribute: fixed-length, or variable-length in the global heap."""
    if _dataspace(space, where) not in ((), (1,)):
        raise HDF5Error(f"{where}: not one string")
    cls = kind[0] & 0x0F
    if cls == 3:  # fixed-length string
        size = struct.unpack("<I", kind[4:8])[0]
        return data[:size].rstrip(b"\x00").decode("utf-8", "replace")
    if cls == 9 and kind[1] & 0x0F == 1 and len(data) >= 16:  # variable-length string
        length, collection, index = struct.unpack("<IQI", data[:16])
        text = file.global_heap_object(collection, index)
        return text[:length].decode("utf-8", "replace")
    raise HDF5Error(f"{where}: not a string")

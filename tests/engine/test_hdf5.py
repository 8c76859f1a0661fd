"""`app.engine.hdf5` reads what h5py writes by default, exactly, and refuses everything else.

h5py, a test dependency only, writes the files and is the reference they are read against.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import hdf5

MODELS = Path(__file__).resolve().parents[2] / "models"


def _written(build: Callable[[h5py.File], None], **options: object) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", **options) as h5:
        build(h5)
    return buffer.getvalue()


def _same_as_h5py(data: bytes) -> int:
    """Walk the file with both readers: same members, name attributes and float values."""
    reference, mine = h5py.File(io.BytesIO(data), "r"), hdf5.File(data).root
    compared = 0

    def check(path: str, obj: object) -> None:
        nonlocal compared
        node: hdf5.Group | hdf5.Dataset | None = mine
        for part in path.split("/"):
            assert isinstance(node, hdf5.Group)
            node = node.get(part)
        if isinstance(obj, h5py.Dataset):
            assert isinstance(node, hdf5.Dataset) and node.shape == obj.shape
            if obj.dtype.kind != "f":  # Keras' optimizer keeps an integer step count
                with pytest.raises(hdf5.HDF5Error, match="IEEE floats"):
                    node.read()
                return
            values = node.read()
            assert values.dtype == obj.dtype and np.array_equal(values, obj[()], equal_nan=True)
        else:
            assert isinstance(obj, h5py.Group) and isinstance(node, hdf5.Group)
            assert sorted(node.names()) == sorted(obj.keys())
            assert node.attribute("name") == obj.attrs.get("name")
        compared += 1

    reference.visititems(check)
    return compared


def test_every_committed_network_reads_as_h5py_reads_it() -> None:
    """The bytes Keras wrote, as they are in `models/`."""
    files = sorted(MODELS.glob("*/*/*.keras"))
    assert files
    for path in files:
        with zipfile.ZipFile(path) as archive:
            assert _same_as_h5py(archive.read("model.weights.h5")) > 5


shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrays=st.lists(
        st.tuples(shapes, st.sampled_from(["<f4", "<f8"]), st.booleans()), min_size=1, max_size=6
    ),
    name=st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=30),
    seed=st.integers(0, 2**32 - 1),
)
def test_groups_datasets_and_attributes_read_as_h5py_reads_them(
    arrays: list[tuple[tuple[int, ...], str, bool]], name: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)

    def build(h5: h5py.File) -> None:
        group = h5.create_group("layers/lstm/vars")
        group.attrs["name"] = name
        for i, (shape, dtype, compact) in enumerate(arrays):
            values = rng.normal(size=shape).astype(dtype)
            if compact and values.nbytes < 60_000:
                space = h5py.h5s.create_simple(shape) if shape else h5py.h5s.create(h5py.h5s.SCALAR)
                plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                plist.set_layout(h5py.h5d.COMPACT)
                kind = h5py.h5t.py_create(np.dtype(dtype))
                h5py.h5d.create(group.id, str(i).encode(), kind, space, plist).write(
                    h5py.h5s.ALL, h5py.h5s.ALL, values
                )
            else:
                group[str(i)] = values

    assert _same_as_h5py(_written(build)) == 3 + len(arrays)


def test_a_group_of_hundreds_reads_through_a_deeper_b_tree() -> None:
    """More members than one symbol-table node holds: the B-tree grows a level."""

    def build(h5: h5py.File) -> None:
        for i in range(600):
            h5[f"many/{i}"] = np.full(2, i, np.float32)

    data = _written(build)
    assert _same_as_h5py(data) == 601
    many = hdf5.File(data).root.get("many")
    assert isinstance(many, hdf5.Group) and len(many.names()) == 600


def test_a_header_continued_elsewhere_reads_as_one() -> None:
    """Attributes added after creation overflow the first header block into a continuation."""

    def build(h5: h5py.File) -> None:
        group = h5.create_group("g")
        for i in range(40):
            group.attrs[f"attribute {i}"] = "x" * 100
        group.attrs["name"] = "last"

    root = hdf5.File(_written(build)).root
    group = root.get("g")
    assert isinstance(group, hdf5.Group) and group.attribute("name") == "last"


REFUSED: dict[str, tuple[Callable[[h5py.File], None], dict[str, object], str]] = {
    "newer format": (lambda h5: h5.create_group("g"), {"libver": "latest"}, "superblock version"),
    "chunked": (lambda h5: h5.create_dataset("d", (4,), "f4", chunks=(2,)), {}, "chunked"),
    "compressed": (
        lambda h5: h5.create_dataset("d", data=np.ones(64, "f4"), compression="gzip"),
        {},
        "filter pipeline",
    ),
    "integers": (lambda h5: h5.create_dataset("d", data=np.arange(3)), {}, "IEEE floats"),
    "big-endian": (lambda h5: h5.create_dataset("d", data=np.ones(3, ">f4")), {}, "IEEE floats"),
    "external storage": (
        lambda h5: h5.create_dataset("d", (4,), "f4", external=[("/dev/zero", 0, 16)]),
        {},
        "external storage",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_keras_does_not_write_is_refused_with_the_reason(case: str) -> None:
    build, options, reason = REFUSED[case]

    def read_all() -> None:
        root = hdf5.File(_written(build, **options)).root
        node = root.get(root.names()[0])
        if isinstance(node, hdf5.Dataset):
            node.read()

    with pytest.raises(hdf5.HDF5Error, match=reason):
        read_all()


@pytest.mark.parametrize(
    ("link", "reason"),
    [(h5py.SoftLink("/d"), "soft link"), (h5py.ExternalLink("/etc/passwd", "/x"), "new-style")],
)
def test_links_to_elsewhere_are_refused(link: object, reason: str) -> None:
    def build(h5: h5py.File) -> None:
        h5["d"] = np.ones(2, "f4")
        h5["g/link"] = link

    root = hdf5.File(_written(build)).root
    with pytest.raises(hdf5.HDF5Error, match=reason):
        group = root.get("g")
        assert isinstance(group, hdf5.Group)
        group.get("link")


def test_bytes_that_are_not_hdf5_are_refused() -> None:
    for data in (b"", b"PK\x03\x04 a zip", b"\x89HDF\r\n\x1a\n" + b"\x00" * 8):
        with pytest.raises(hdf5.HDF5Error):
            hdf5.File(data)


def _walk(data: bytes) -> None:
    root = hdf5.File(data).root
    todo: list[hdf5.Group] = [root]
    while todo:
        group = todo.pop()
        group.attribute("name")
        for key in group.names():
            node = group.get(key)
            if isinstance(node, hdf5.Group):
                todo.append(node)
            elif node is not None:
                node.read()


def _keras_like(h5: h5py.File) -> None:
    h5.create_group("layers/lstm/cell/vars").attrs["name"] = "lstm_cell"
    h5["layers/lstm/cell/vars/0"] = np.ones((1, 8), "f4")
    h5["layers/lstm/cell/vars/1"] = np.ones((2, 8), "f4")


KERAS_LIKE = _written(_keras_like)


STRUCTURE = [at for at, byte in enumerate(KERAS_LIKE) if byte]
"""Where the damage matters: signatures, sizes and addresses are the file's non-zero bytes
(the rest is mostly unused room in B-tree nodes and heaps)."""


@settings(max_examples=400, deadline=2000)
@given(st.lists(st.tuples(st.sampled_from(STRUCTURE), st.integers(0, 255)), max_size=6))
def test_a_damaged_file_is_refused_never_crashes_or_hangs(edits: list[tuple[int, int]]) -> None:
    """Bytes of its structure changed: it still reads, or it is an `HDF5Error`; nothing else."""
    data = bytearray(KERAS_LIKE)
    for at, value in edits:
        data[at] = value
    with contextlib.suppress(hdf5.HDF5Error):
        _walk(bytes(data))

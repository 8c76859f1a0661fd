"""V2 BYTES tensors: the `series_id` input's strings in, the `periods` output's strings out.

A BYTES element is a string here. In JSON `data` it is a JSON string; as binary tensor
data (the protocol's extension) it is a 4-byte little-endian length, then that many
bytes, element after element in row-major order: what tritonclient's
`serialize_byte_tensor` writes and `deserialize_bytes_tensor` reads. An id is UTF-8
text of 1 to 200 characters, as every series id is (`app.contract.series`): what a
version's table can hold, so a longer one is refused before it is looked up (the 404
that follows compares it with the table's ids to name the nearest). Every refusal names
the element at fault (`series_id[i]`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pydantic import TypeAdapter, ValidationError

from app.contract.series import SeriesId
from app.errors import InvalidInput
from app.v2.tensor_data import BINARY_SIZE, Raw
from app.v2.types import SERIES_INPUT, RequestInput

BYTES = "BYTES"
_LENGTH = struct.Struct("<I")
_ID = TypeAdapter(SeriesId)


def series_ids(tensor: RequestInput, raw: Raw | None, limit: int | None = None) -> list[str]:
    """The ids of a `series_id` tensor of shape [n], from JSON `data` or binary `raw`;
    more than `limit` (`Settings.max_series`) refused by the shape, before any is read."""
    name, shape = tensor.name, tensor.shape
    if tensor.datatype != BYTES:
        raise InvalidInput.at(
            f"{name}.datatype", f"{tensor.datatype!r}: series ids are strings, datatype BYTES"
        )
    if len(shape) != 1 or shape[0] < 1:
        raise InvalidInput.at(f"{name}.shape", f"expected [n] with n at least 1, got {shape}")
    if limit is not None and shape[0] > limit:
        raise InvalidInput.at(name, f"at most {limit} series per batch, got {shape[0]:,}")
    if raw is not None:
        if tensor.data is not None:
            raise InvalidInput.at(
                name, f"both `data` and parameters.{BINARY_SIZE} given; send one of them"
            )
        items: Sequence[object] = _from_bytes(raw, shape[0])
    elif tensor.data is None:
        raise InvalidInput.at(name, "no `data`; send the ids as JSON strings or binary data")
    else:
        items = tensor.data
        if len(items) != shape[0]:
            raise InvalidInput.at(
                f"{name}.data", f"{len(items)} elements, but shape {shape} needs {shape[0]}"
            )
    return [_series_id(item, i) for i, item in enumerate(items)]


def to_bytes(strings: Sequence[str]) -> bytes:
    """Strings as a binary BYTES tensor: each one's UTF-8 length (4 bytes), then its bytes."""
    encoded = [text.encode() for text in strings]
    return b"".join(_LENGTH.pack(len(item)) + item for item in encoded)


def _series_id(item: object, i: int) -> str:
    at = f"{SERIES_INPUT}[{i}]"
    if not isinstance(item, str):
        raise InvalidInput.at(at, f"{item!r} is not a string")
    try:
        found: str = _ID.validate_python(item)
    except ValidationError as exc:
        raise InvalidInput.at(at, f"{item[:40]!r}: {exc.errors()[0]['msg']}") from None
    return found


def _from_bytes(raw: Raw, count: int) -> list[str]:
    """`count` length-prefixed UTF-8 strings filling `raw` exactly; one pass, no copy of it."""
    view, offset = memoryview(raw), 0
    found: list[str] = []
    while offset < len(view):
        at = f"{SERIES_INPUT}[{len(found)}]"
        if len(found) == count:
            raise InvalidInput.at(
                f"{SERIES_INPUT}.parameters.{BINARY_SIZE}",
                f"bytes left after the {count} elements the shape gives",
            )
        if offset + _LENGTH.size > len(view):
            raise InvalidInput.at(at, "its 4-byte length is cut short")
        (size,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        if offset + size > len(view):
            raise InvalidInput.at(at, f"{size} bytes, but only {len(view) - offset} are left")
        try:
            found.append(str(view[offset : offset + size], "utf-8"))
        except UnicodeDecodeError:
            raise InvalidInput.at(at, "not UTF-8 text") from None
        offset += size
    if len(found) != count:
        raise InvalidInput.at(
            f"{SERIES_INPUT}.parameters.{BINARY_SIZE}",
            f"{len(found)} elements, but shape [{count}] needs {count}",
        )
    return found

"""The binary tensor data extension's framing: where a body's JSON ends and tensor bytes begin.

A request with the `Inference-Header-Content-Length` header is a JSON header of
that many bytes, then the raw bytes of every input whose parameters carry
`binary_data_size`, concatenated in input order. `unframed` hands FastAPI just
the JSON header to parse and validate as usual, and keeps the rest aside in the
ASGI scope; `input_data` cuts that rest into each input's bytes (memoryviews of
the body, so nothing is copied) once the sizes are checked to add up, and
`app.v2.codec` reads them in their datatype. An answer with binary outputs is
framed the same way (`framed`): its JSON, then the outputs' bytes, the header
saying where the JSON ends. Tritonclient's defaults use both directions.

Every refusal is an `InvalidInput`, so V2 routes answer it as a 400 `{"error": ...}`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from app.errors import InvalidInput
from app.v2.tensor_data import BINARY_SIZE
from app.v2.types import InferenceResponse, RequestInput

EXTENSION = "binary_tensor_data"  # its name in the server metadata's extensions
HEADER = "Inference-Header-Content-Length"
MEDIA_TYPE = "application/octet-stream"
TAIL = "lstm_forecast.v2_binary_tail"  # the scope key the bytes after the JSON header wait in
_LENGTH = re.compile(r"[0-9]{1,19}")  # ASCII digits only: int() would take "+1", " 1", "1_0"


def split(body: bytes, header_length: str) -> tuple[bytes, memoryview]:
    """The JSON header and the binary tail of a body, as the header's value cuts it."""
    if not _LENGTH.fullmatch(header_length):
        raise InvalidInput.at(HEADER, f"{header_length!r} is not a number of bytes")
    length = int(header_length)
    if length > len(body):
        raise InvalidInput.at(
            HEADER, f"{length} bytes of JSON header, but the body has only {len(body)}"
        )
    header = body[:length]
    try:
        header.decode()  # FastAPI would only say "There was an error parsing the body"
    except UnicodeDecodeError as exc:
        raise InvalidInput.at(
            HEADER,
            f"byte {exc.start} of the {length} it gives the JSON header is not UTF-8 text;"
            " it must be the JSON's length in bytes",
        ) from None
    return header, memoryview(body)[length:]


async def unframed(request: Request) -> Request:
    """The request as FastAPI should see it: the JSON header as a JSON body, the tail aside."""
    header, tail = split(await request.body(), request.headers[HEADER])
    kept = [
        (k, v) for k, v in request.scope["headers"] if k not in (b"content-type", b"content-length")
    ]
    headers = [
        *kept,
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(header)),
    ]
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:  # the body is read; what follows (a disconnect) comes from the client
            return await request.receive()
        delivered = True
        return {"type": "http.request", "body": header, "more_body": False}

    return Request({**request.scope, "headers": headers, TAIL: tail}, receive)


def tail_of(request: Request) -> memoryview | None:
    """The bytes after the JSON header, or None when the request had no such header."""
    tail: memoryview | None = request.scope.get(TAIL)
    return tail


def input_data(inputs: Sequence[RequestInput], tail: memoryview | None) -> dict[str, memoryview]:
    """Each binary input's bytes, by name, cut from `tail` in input order.

    The sizes must be whole numbers adding up to exactly the tail: a mismatch
    means client and server disagree on where tensors start, so nothing in the
    tail can be trusted. Binary inputs without the header have no tail at all.
    """
    sized: list[tuple[str, int]] = []
    for tensor in inputs:
        size = (tensor.parameters or {}).get(BINARY_SIZE)
        if size is None:
            continue
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInput.at(
                f"{tensor.name}.parameters.{BINARY_SIZE}", f"{size!r}: must be a number of bytes"
            )
        sized.append((tensor.name, size))
    if tail is None:
        if sized:
            raise InvalidInput.at(
                f"{sized[0][0]}.parameters.{BINARY_SIZE}",
                f"binary data needs the {HEADER} header, giving the size of the JSON before it",
            )
        return {}
    total = sum(size for _, size in sized)
    if total != len(tail):
        named = ", ".join(f"{name} {size}" for name, size in sized) or "no input has any"
        raise InvalidInput.at(
            "body",
            f"{len(tail)} bytes follow the JSON header, but the inputs' {BINARY_SIZE}"
            f" add up to {total} ({named})",
        )
    data, offset = {}, 0
    for name, size in sized:
        data[name] = tail[offset : offset + size]
        offset += size
    return data


def framed(response: InferenceResponse, payload: Sequence[bytes]) -> Response:
    """The answer's JSON (without the None fields JSON answers omit too), then the bytes."""
    header = response.model_dump_json(exclude_none=True).encode()
    return Response(
        b"".join([header, *payload]), media_type=MEDIA_TYPE, headers={HEADER: str(len(header))}
    )

"""The load generator's wire format: one HTTP/1.1 request encoded once, and a minimal reader
of the responses.

Why not httpx: its per-request client cost (a few hundred microseconds of Python) would
cap the throughput this 2-core machine can measure below what the server can answer.
`Target` holds one pre-encoded request and `read_response` parses only the status line,
`Content-Length` (or chunked framing) and the body, so one core drives tens of thousands
of requests per second (`run_all` measures that against a canned-response server and
reports it). Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Target:
    """One request, encoded once and sent again and again."""

    host: str
    port: int
    raw: bytes  # the complete HTTP/1.1 request

    @classmethod
    def build(
        cls,
        url: str,
        body: bytes | None = None,
        method: str = "POST",
        headers: tuple[str, ...] = (),
    ) -> Target:
        """Encode `method url` with a JSON `body` (none for GET) and extra `Name: value` headers;
        refuse non-loopback hosts."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "http" or host not in LOOPBACK:
            raise ValueError(f"only http://127.0.0.1 (loopback) targets are allowed, got {url!r}")
        port = parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
        head += list(headers)
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + (body or b"")
        return cls(host, port, raw)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole response; return (status, whether the server keeps the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise ValueError("response header too large")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "chunked" in headers.get("transfer-encoding", ""):
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # the final CRLF after the zero-size chunk (no trailers)
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection") != "close"

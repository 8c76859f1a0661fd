"""A server that answers every HTTP/1.1 request with the same tiny 200, as fast as it can.

    python -m bench.canned_server --port 8002 [--cpu 0] [--seconds 120]

The HTTP benchmark runs the load generator against it to show the generator's own
ceiling: if it can drive this server far faster than the service's ceiling route,
the service figures measure the service, not the client. It frames requests by
`Content-Length` (what the load generator sends), listens on 127.0.0.1 only, and
exits by itself after `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import cast

from bench.loadgen import pin_to_cpu

RESPONSE = (
    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'
)
MAX_BUFFER = 4 << 20


class Canned(asyncio.Protocol):
    """Answer each complete request in the buffer; keep the rest for the next read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                break
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(RESPONSE)
        if len(self.buffer) > MAX_BUFFER:
            self.transport.close()


async def serve(port: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Canned, "127.0.0.1", port)
    async with server:
        await asyncio.sleep(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.canned_server", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--seconds", type=float, default=120.0, help="exit after this long")
    args = parser.parse_args(argv)
    pin_to_cpu(args.cpu)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port, args.seconds))
    else:
        uvloop.run(serve(args.port, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m app` runs uvicorn with the settings' production options."""

from __future__ import annotations

import asyncio
import socket

from app.serve import build_config
from app.settings import Settings


def test_uvicorn_gets_the_settings_timeouts_and_no_access_log() -> None:
    settings = Settings(host="0.0.0.0", port=9100, keep_alive_seconds=61, shutdown_seconds=7)
    config = build_config(settings, workers=1)
    assert (config.host, config.port) == ("0.0.0.0", 9100)
    assert config.timeout_keep_alive == 61
    assert config.timeout_graceful_shutdown == 7
    assert config.access_log is False and config.server_header is False


def test_idle_connections_outlive_a_load_balancers_idle_timeout() -> None:
    """Proxies keep idle upstream connections ~60 s; closing first races their reuse (502s)."""
    assert build_config(Settings(), workers=1).timeout_keep_alive > 60


def test_a_burst_of_connections_is_accepted_in_a_few_loop_passes() -> None:
    """A probe must not wait behind a burst of connects. On uvloop, libuv accepts one
    connection per loop pass, so 50 pending connections took 51 passes; under overload a
    pass takes tens of milliseconds, and a probe arriving after 256 connects waited over a
    second. The loop the service runs on accepts them all at once."""
    pending = 50
    accepted = 0

    class Count(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            nonlocal accepted
            accepted += 1

    async def passes_to_accept_all() -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Count, "127.0.0.1", 0, backlog=2 * pending)
        port = server.sockets[0].getsockname()[1]
        # The kernel completes each handshake; the connections wait for the loop to accept.
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(pending)]
        passes = 0
        while accepted < pending and passes < 10 * pending:
            await asyncio.sleep(0)  # one pass of the loop
            passes += 1
        for client in clients:
            client.close()
        server.close()
        await server.wait_closed()
        return passes

    config = build_config(Settings(), workers=1)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        passes = runner.run(passes_to_accept_all())
    assert accepted == pending
    assert passes <= 5, f"{pending} pending connections took {passes} loop passes to accept"

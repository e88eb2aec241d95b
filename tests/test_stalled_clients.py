"""A client that asks for a large response and never reads it (issue 14's leftover): the
response waited in the transport forever, holding the connection and the body, out of
reach of the idle timeout and of the cap (the connection counted as busy). The guard now
aborts a connection whose unsent bytes have not moved for its stall timeout."""

from __future__ import annotations

import asyncio
import socket
import time

from aiohttp import web

from scheduler.connections import GUARD_KEY
from scheduler.web import bound_port, start_server

BODY = b"BEGIN:VCALENDAR\r\n" * 2_000_000   # 34 MB: far beyond any socket buffer


async def _big(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="text/calendar")


def _request(port: int, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock


def _read_all(sock: socket.socket) -> int:
    received = 0
    while chunk := sock.recv(1 << 20):
        received += len(chunk)
        if received >= len(BODY):
            break
    return received


async def _scenario() -> tuple[int, int, int, int]:
    app = web.Application()
    app.router.add_get("/big", _big)
    runner = await start_server(app, "127.0.0.1", 0)
    guard = app[GUARD_KEY]
    guard.stall_timeout, guard.sweep_every = 1.0, 0.2
    port = bound_port(runner)
    loop = asyncio.get_running_loop()
    try:
        stuck = await loop.run_in_executor(None, _request, port, 4096)
        # A reader that does read gets the whole body, however long it takes.
        reader = await loop.run_in_executor(None, _request, port)
        received = await loop.run_in_executor(None, _read_all, reader)
        reader.close()
        deadline = time.monotonic() + 15   # a bound, not a timing: it hangs otherwise
        while guard.closed_stalled == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

        def drain() -> int:
            """What the stuck client finds when it reads at last: the server's end."""
            stuck.settimeout(10)
            got = 0
            try:
                while chunk := stuck.recv(1 << 20):
                    got += len(chunk)
            except ConnectionResetError:
                pass
            return got

        ending = await loop.run_in_executor(None, drain)
        stuck.close()
        return guard.closed_stalled, received, ending, guard.counts()["closed_stalled"]
    finally:
        await runner.cleanup()


def test_a_client_that_stops_reading_is_cut_off_and_a_reader_is_not() -> None:
    stalled, received, leftover, counted = asyncio.run(_scenario())
    assert received >= len(BODY)          # the reading client got everything
    assert stalled == 1 and counted == 1  # only the one that stopped reading was aborted
    assert leftover < len(BODY) // 2      # cut off: the rest of the body was dropped

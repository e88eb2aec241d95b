"""One serving worker: `python -m scheduler.worker`, started by `scheduler.workers`.

A worker accepts connections on the listening socket(s) it inherits from the main
process (its own, bound with `SO_REUSEPORT` to the port every worker serves: the kernel
spreads new connections over them). It answers the feeds, the index page and
the subscribe pages itself, with `scheduler.web`'s handlers, from the FeedSet snapshot
the main process sent it (`scheduler.snapshot`). Every other request (the follow-up
site and its POSTs, /healthz, /metrics, unknown paths) is passed unchanged to the main
process's own server on a private unix socket, which owns the store, and its answer is
passed back: so a POST always reaches the one process that has the store.

Talking to the main process:

- stdin: frames of one JSON header line (`generation`, `size`, the main clock's `now`
  and the wall time it was sent at, the log level) followed by `size` bytes of snapshot.
  End of file means the main process is gone: the worker stops.
- stdout: one JSON line per event: `{"serving": N}` once generation N is served,
  `{"flood": true|false, ...}` when its connection guard starts or stops shedding.

SIGTERM stops it gracefully (no new connections, requests in progress answered);
SIGINT is ignored (a Ctrl-C in a terminal reaches the whole process group, and the main
process stops its workers itself).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import socket
import sys
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientError, ClientSession, ClientTimeout, UnixConnector, web
from multidict import CIMultiDict
from yarl import URL

from scheduler.clock import SystemClock
from scheduler.connections import GUARD_KEY
from scheduler.logs import set_level, setup_logging
from scheduler.snapshot import loads
from scheduler.web import WebState, create_app, start_server

log = logging.getLogger(__name__)

# Headers that belong to one connection, not to the request or answer (RFC 9110 7.6.1);
# Content-Length is recomputed from the body passed on.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer",
                        "transfer-encoding", "upgrade", "content-length"})
PROXY_TIMEOUT_SECONDS = 120.0
# The pipe's read buffer: a snapshot (megabytes at national scale) is read in big chunks.
PIPE_BUFFER = 1 << 20


class OffsetClock:
    """The main process's clock as seen from here: wall time plus a fixed offset (its
    `$LICHNHAC_NOW` shift, if any), sent with every snapshot."""

    def __init__(self, timezone: ZoneInfo, offset: float) -> None:
        self.wall = SystemClock(timezone)
        self.offset = timedelta(seconds=offset)

    def now(self) -> datetime:
        return self.wall.now() + self.offset


class Passer:
    """Passes a request to the main process's server on `back` and its answer back."""

    def __init__(self, back: str) -> None:
        self.back = back
        self.session: ClientSession | None = None

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if self.session is None:
            self.session = ClientSession(connector=UnixConnector(path=self.back),
                                         auto_decompress=False,
                                         timeout=ClientTimeout(total=PROXY_TIMEOUT_SECONDS))
        headers = CIMultiDict((k, v) for k, v in request.headers.items()
                              if k.lower() not in HOP_BY_HOP)
        body = await request.read() if request.body_exists else None
        url = URL("http://lichnhac" + request.raw_path, encoded=True)
        try:
            async with self.session.request(request.method, url, headers=headers, data=body,
                                            allow_redirects=False) as answer:
                content = await answer.read()
                out = CIMultiDict((k, v) for k, v in answer.headers.items()
                                  if k.lower() not in HOP_BY_HOP)
                if request.method == "HEAD" and "Content-Length" in answer.headers:
                    out["Content-Length"] = answer.headers["Content-Length"]
                response = web.Response(status=answer.status, reason=answer.reason,
                                        headers=out, body=content or None)
                return response
        except (ClientError, TimeoutError, OSError) as exc:
            log.warning("worker: the main process did not answer %s %s: %s", request.method,
                        request.path, exc or type(exc).__name__)
            return web.Response(status=503, text="Máy chủ đang bận, vui lòng thử lại sau.\n",
                                content_type="text/plain", charset="utf-8",
                                headers={"Retry-After": "5"})


def worker_app(state: WebState, passer: Passer) -> web.Application:
    """`scheduler.web`'s application, with every path it does not serve itself passed on to the
    main process: a route, not a middleware, so that a feed request pays nothing for it."""
    app = create_app(state, None, healthz=False)  # type: ignore[arg-type]  # config unused
    app.router.add_route("*", "/{tail:.*}", passer)
    return app


def _tell(**event: Any) -> None:
    sys.stdout.buffer.write(json.dumps(event).encode() + b"\n")
    sys.stdout.buffer.flush()


async def _read_frame(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes] | None:
    line = await reader.readline()
    if not line:
        return None
    header = json.loads(line)
    payload = await reader.readexactly(int(header["size"]))
    return header, payload


async def serve(fds: list[int], back: str, index: int) -> int:
    """Serve until SIGTERM or until the main process goes away; the exit status."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reader = asyncio.StreamReader(limit=PIPE_BUFFER)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sockets = [socket.socket(fileno=fd) for fd in fds]
    state = WebState()
    passer = Passer(back)
    runner: web.AppRunner | None = None

    async def receive() -> None:
        nonlocal runner
        while (frame := await _read_frame(reader)) is not None:
            header, payload = frame
            feedset = await asyncio.to_thread(loads, payload)
            set_level(header["log_level"])
            state.clock = OffsetClock(feedset.config.timezone,
                                      float(header["now"]) - float(header["sent"]))
            state.set_feeds(feedset)
            if runner is None:
                runner = await start_server(worker_app(state, passer), "", 0, sockets=sockets)
                runner.app[GUARD_KEY].report = lambda on, count, closed: _tell(
                    flood=on, count=count, closed=closed)
            _tell(serving=header["generation"])
        stop.set()  # the main process is gone

    receiving = asyncio.create_task(receive(), name="snapshots")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    status = 0
    if receiving.done() and receiving.exception() is not None:
        log.error("worker %d: cannot read a snapshot: %s", index, receiving.exception())
        status = 1
    receiving.cancel()
    stopping.cancel()
    if runner is not None:
        await runner.cleanup()
    await passer.close()
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.worker")
    parser.add_argument("--fds", required=True, help="listening sockets, comma-separated")
    parser.add_argument("--back", required=True, help="the main process's unix socket")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    started = time.monotonic()
    status = asyncio.run(serve([int(fd) for fd in args.fds.split(",")], args.back,
                               args.index))
    log.debug("worker %d: served for %.0f s", args.index, time.monotonic() - started)
    return status


if __name__ == "__main__":
    raise SystemExit(main())

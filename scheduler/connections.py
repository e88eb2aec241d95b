"""Keeping the web server answering whatever clients do with their connections.

aiohttp keeps a connection as long as the client does. Idle sockets (a scanner, a
client that connects and says nothing) and slowloris clients (a header trickled a byte at
a time) would otherwise pile up until the process runs out of file descriptors, and then
every request, `/healthz` included, times out. Three bounds keep it answering:

- **Timeouts.** A connection must complete a request within `IDLE_TIMEOUT_SECONDS` of
  opening, and of its previous response (aiohttp's keep-alive timer, which also runs
  before the first request); a slow header does not reset it.
- **A cap on connections held.** At `limit` open connections, each new one closes the
  oldest connection that is not in the middle of a request. New clients (a health check,
  a calendar app) always get in; the flood pays.
- **File descriptors.** The soft `RLIMIT_NOFILE` is raised to the hard one at start-up,
  and the cap stays below it, so `accept()` never fails with EMFILE.
- **Clients that stop reading.** A response larger than the kernel's socket buffers waits
  in the transport for the client to read; a client that never does would hold the
  connection (and the body) forever, busy, out of reach of the two bounds above. Every
  `SWEEP_SECONDS` the guard looks at each connection's unsent bytes: a connection whose
  unsent bytes have not moved for `STALL_TIMEOUT_SECONDS` is aborted. A slow reader that
  makes progress is left alone.

The condition is logged once when it starts and once when it ends, never per connection.
A malformed request is one warning line (`QuietServerLog`), not an error with a traceback.
A method aiohttp's parser does not know (`BREW /`) gets the 405 every other method gets,
not a 400 (`_Handler`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

IDLE_TIMEOUT_SECONDS = 15.0
MAX_CONNECTIONS = 1000
# File descriptors kept for everything else: the ledger, feeds, SMTP, the journal.
RESERVED_FDS = 128
# Below this share of the cap, a flood is over (logged once).
CALM_SHARE = 0.5
STALL_TIMEOUT_SECONDS = 30.0
SWEEP_SECONDS = 5.0


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def connection_limit(fd_limit: int, wanted: int = MAX_CONNECTIONS) -> int:
    """The cap on open connections for a process allowed `fd_limit` descriptors."""
    return max(16, min(wanted, fd_limit - RESERVED_FDS))


class _Handler(RequestHandler):
    """aiohttp's connection handler, answering an unknown method with our 405."""

    __slots__ = ()
    method_not_allowed: Any = None

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if isinstance(exc, BadHttpMethod) and _Handler.method_not_allowed is not None:
            response: web.StreamResponse = _Handler.method_not_allowed()
            response.force_close()
            return response
        return super().handle_error(request, status, exc, message)


class ConnectionGuard:
    """Tracks the server's connections and closes the oldest idle ones over `limit`."""

    def __init__(self, limit: int, method_not_allowed: Any = None) -> None:
        self.limit = limit
        # A serving worker reports the flood's start and end to the main process, which
        # logs them once for all workers (`scheduler.workers`); else they are logged here.
        self.report: Callable[[bool, int, int], None] | None = None
        if method_not_allowed is not None:
            _Handler.method_not_allowed = staticmethod(method_not_allowed)
        self.open: OrderedDict[Any, asyncio.BaseTransport] = OrderedDict()
        self.busy: set[Any] = set()
        self.closed_over_limit = 0
        self.closed_stalled = 0
        self.stall_timeout = STALL_TIMEOUT_SECONDS
        self.sweep_every = SWEEP_SECONDS
        self._flooded = False
        self._closed_this_flood = 0
        self._unsent: dict[Any, tuple[int, float]] = {}   # handler -> (unsent bytes, since)
        self._sweeper: asyncio.Task[None] | None = None

    def install(self, server: web.Server) -> None:
        """Hook into `server`'s per-connection callbacks."""
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            if type(handler) is RequestHandler:
                handler.__class__ = _Handler  # same layout, one method more
            made(handler, transport)
            self.opened(handler, transport)

        def connection_lost(handler: Any, exc: BaseException | None) -> None:
            self.lost(handler)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign,assignment]

    def opened(self, handler: Any, transport: asyncio.BaseTransport) -> None:
        self.open[handler] = transport
        if len(self.open) <= self.limit:
            return
        if not self._flooded:
            self._flooded = True
            self._closed_this_flood = 0
            if self.report is not None:
                self.report(True, self.limit, 0)
            else:
                log.warning("web: %d connections open, the limit: closing the oldest idle ones "
                            "(a flood of idle or slow clients?)", self.limit)
        skipped: list[tuple[Any, asyncio.BaseTransport]] = []
        while len(self.open) > self.limit and len(self.open) > len(skipped) + 1:
            old, old_transport = self.open.popitem(last=False)
            if old is handler or old in self.busy:
                skipped.append((old, old_transport))
                continue
            old_transport.close()
            self.closed_over_limit += 1
            self._closed_this_flood += 1
        for old, old_transport in reversed(skipped):  # busy ones keep their place
            self.open[old] = old_transport
            self.open.move_to_end(old, last=False)

    def lost(self, handler: Any) -> None:
        self.open.pop(handler, None)
        self.busy.discard(handler)
        self._unsent.pop(handler, None)
        if self._flooded and len(self.open) < self.limit * CALM_SHARE:
            self._flooded = False
            if self.report is not None:
                self.report(False, len(self.open), self._closed_this_flood)
                return
            log.warning("web: connections back to %d; %d idle or slow ones were closed "
                        "over the limit", len(self.open), self._closed_this_flood)

    def sweep(self, now: float) -> int:
        """Abort connections whose unsent bytes have not moved for `stall_timeout`
        seconds (at monotonic time `now`); returns how many."""
        aborted = 0
        for handler, transport in list(self.open.items()):
            size = getattr(transport, "get_write_buffer_size", None)
            unsent = size() if size is not None else 0
            seen = self._unsent.get(handler)
            if not unsent:
                self._unsent.pop(handler, None)
            elif seen is None or seen[0] != unsent:
                self._unsent[handler] = (unsent, now)
            elif now - seen[1] >= self.stall_timeout:
                self._unsent.pop(handler, None)
                transport.abort()  # type: ignore[attr-defined]
                aborted += 1
        if aborted:
            self.closed_stalled += aborted
            log.warning("web: closed %d connection(s) whose client stopped reading for %d s",
                        aborted, self.stall_timeout)
        return aborted

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.sweep_every)
            self.sweep(loop.time())

    def start(self) -> None:
        """Start sweeping stalled connections (in the server's running loop)."""
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self, app: web.Application | None = None) -> None:
        """Stop sweeping (an `on_cleanup` callback)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    def counts(self) -> dict[str, int]:
        """For /metrics: connections open, and closed over the limit or stalled."""
        return {"open": len(self.open), "closed_over_limit": self.closed_over_limit,
                "closed_stalled": self.closed_stalled}

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Mark the connection busy while its request is handled (never evicted then)."""
        protocol = request.protocol
        self.busy.add(protocol)
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self.busy.discard(protocol)


GUARD_KEY = web.AppKey("lichnhac_connection_guard", ConnectionGuard)


class QuietServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, but a malformed request is a one-line warning.

    aiohttp logs a request it cannot parse with `logger.exception(...)`: an ERROR with a
    traceback, for something a client did. Errors in our own handlers keep theirs.
    """

    def exception(self, msg: object, *args: Any, exc_info: Any = True,
                  **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            reason = str(exc_info.message or exc_info).splitlines()[0][:200]
            self.warning("%s: malformed request: %s", str(msg) % args if args else msg, reason)
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


def server_options() -> dict[str, Any]:
    """Keyword arguments for `web.AppRunner` that apply these bounds."""
    return {"keepalive_timeout": IDLE_TIMEOUT_SECONDS,
            "logger": QuietServerLog(logging.getLogger("aiohttp.server"), {})}

"""The daemon's moving parts and how they are opened, swapped and closed.

`daemon.py` owns the lifecycle; this module owns the wiring to the feeds, web, ledger,
mail and delivery modules, so that their interfaces meet the daemon in one place.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack, suppress
from datetime import date, datetime
from typing import Any

from aiohttp import web

from scheduler.clock import Clock
from scheduler.config import Config
from scheduler.delivery import Delivery, DeliveryReport
from scheduler.errors import LichnhacError
from scheduler.feeds import FeedSet, build_feedset
from scheduler.followup.site import FollowupSite
from scheduler.logs import LEVELS, ROOT_LOGGER
from scheduler.mail import open_transport
from scheduler.metrics import DaemonMetrics
from scheduler.store import Store, open_store
from scheduler.store.documents import serving
from scheduler.store.outage import StoreHealth, is_unavailable
from scheduler.web import WebState, create_app, start_server
from scheduler.workers import WorkerPool, bind_sockets, worker_count

log = logging.getLogger(__name__)


class ListenError(LichnhacError, OSError):
    """The web server could not bind its address (in use, or not ours)."""


async def enter(stack: AsyncExitStack, resource: Any) -> Any:
    """Put `resource` on the stack, whichever way it knows to close itself."""
    if hasattr(resource, "__aenter__"):
        return await stack.enter_async_context(resource)
    if hasattr(resource, "__enter__"):
        return stack.enter_context(resource)
    if hasattr(resource, "aclose"):
        stack.push_async_callback(resource.aclose)
    elif hasattr(resource, "close"):
        close = resource.close
        if inspect.iscoroutinefunction(close):
            stack.push_async_callback(close)
        else:
            stack.callback(close)
    return resource


class DaemonParts:
    """Ledger, transport, delivery, feeds and web server of one running daemon."""

    def __init__(self, config: Config, clock: Clock, ledger: Any, transport: Any,
                 state: WebState, app: web.Application) -> None:
        self.config = config
        self.clock = clock
        self.ledger = ledger
        self.transport = transport
        self.delivery = Delivery(config, ledger, transport, clock)
        self.state = state
        self.app = app
        self.feedset: FeedSet | None = None
        self._feed_bytes: int | None = None
        self.runner: web.AppRunner | None = None
        self._transport_stack = AsyncExitStack()
        self.followup: FollowupSite | None = None
        self._last_known: dict[str, Any] = {}
        self.store_health = StoreHealth()     # the daemon hands its own
        self.metrics: DaemonMetrics | None = None
        self.sockets: list[socket.socket] = []
        self.pool: WorkerPool | None = None
        self._back = ""

    # -- serving -------------------------------------------------------------------------

    async def open_serving(self, stack: AsyncExitStack) -> None:
        """With serving workers (`[web] workers`, "auto" by default): bind the port and
        start the workers now, so that they load while the feeds are built; they listen
        once `serve` gives them the feeds."""
        web_config = self.config.web
        workers = worker_count(web_config.workers)
        if workers == 0:
            return
        try:
            groups = bind_sockets(web_config.host, web_config.port, workers)
        except OSError as exc:
            raise ListenError(f"cannot listen on {web_config.host}:"
                              f"{web_config.port}: {exc.strerror or exc}") from None
        self.sockets = [sock for group in groups for sock in group]
        for sock in self.sockets:
            stack.callback(sock.close)
        back = tempfile.mkdtemp(prefix="lichnhac-")
        stack.callback(shutil.rmtree, back, True)
        self._back = os.path.join(back, "main.sock")
        self.pool = WorkerPool(groups, self._back, _log_level)
        stack.push_async_callback(self.pool.stop)
        await self.pool.spawn()
        if self.metrics is not None:
            self.metrics.registry.register(self.pool.collector())

    async def serve(self, stack: AsyncExitStack) -> None:
        """Listen: in this process (`[web] workers = 0`), or through the serving workers
        that share the port, with this process's server behind them on a unix socket
        (`scheduler.workers`). Returns once every worker serves the current feeds."""
        web_config = self.config.web
        if self.pool is None:
            try:
                self.runner = await start_server(self.app, web_config.host, web_config.port)
            except OSError as exc:
                raise ListenError(f"cannot listen on {web_config.host}:"
                                  f"{web_config.port}: {exc.strerror or exc}") from None
            stack.push_async_callback(self.runner.cleanup)
        else:
            self.runner = await start_server(self.app, "", 0, unix_path=self._back)
            # Closed after the workers stop (the stack unwinds in reverse).
            stack.push_async_callback(self.runner.cleanup)
            stack.push_async_callback(self.pool.stop)
            assert self.feedset is not None
            await self.pool.start(self.feedset, self.clock)
        if self.followup is not None:
            warming = asyncio.create_task(self.followup.keep_warm(), name="followup-warm")
            stack.push_async_callback(_stop_task, warming)

    def listening(self) -> tuple[str, int]:
        """The address actually bound (port 0 in the config picks a free port)."""
        if self.sockets:
            host, port = self.sockets[0].getsockname()[:2]
            return str(host), int(port)
        assert self.runner is not None
        for address in self.runner.addresses:
            if isinstance(address, tuple):
                return str(address[0]), int(address[1])
        return self.config.web.host, self.config.web.port

    # -- feeds ---------------------------------------------------------------------------

    async def build_feeds(self, config: Config, today: date, now: datetime) -> FeedSet:
        """Render every feed of `config` for `today`, on a worker thread so the web server
        and the watchdog keep answering meanwhile."""
        return await asyncio.to_thread(build_feedset, config, today, self.ledger, now)

    def serve_feeds(self, new: FeedSet) -> int:
        """Serve `new` from now on; returns how many feeds changed.

        A feed changed when its Last-Modified moved (the feed revisions move it only when
        the feed's content changed); comparing those needs no feed bytes joined.
        """
        old = self.feedset
        changed = len(new.feeds)
        if old is not None:
            changed = sum(1 for path in new.feeds
                          if path not in old.feeds or old.feeds.uncached(path).last_modified
                          != new.feeds.uncached(path).last_modified)
        self.feedset = new
        self._feed_bytes = None
        self.state.set_feeds(new)
        return changed

    async def publish_feeds(self) -> None:
        """Wait until every serving worker serves the feeds `serve_feeds` was given."""
        if self.pool is not None and self.pool.started and self.feedset is not None:
            await self.pool.publish(self.feedset, self.clock)

    def serving_health(self) -> dict[str, Any]:
        """The serving workers' /healthz fields (none without workers)."""
        return self.pool.health() if self.pool is not None else {}

    def feed_count(self) -> int:
        return len(self.feedset.feeds) if self.feedset else 0

    def feed_bytes(self) -> int:
        """Total bytes of every feed; measured once per build, on first request."""
        if self.feedset is None:
            return 0
        if self._feed_bytes is None:
            feeds = self.feedset.feeds
            self._feed_bytes = sum(len(feeds.uncached(path).body) for path in feeds)
        return self._feed_bytes

    # -- delivery ------------------------------------------------------------------------

    def report_counts(self, report: DeliveryReport) -> tuple[int, int, int]:
        return report.sent, report.failed, report.missed

    def ledger_counts(self) -> Mapping[str, int]:
        counts: Mapping[str, int] = self._known(
            "counts", lambda: {str(state): count for state, count
                               in self.delivery.counts().items()}, {})
        return counts

    def last_delivery(self) -> datetime | None:
        last: datetime | None = self._known("last_delivery",
                                            lambda: self.delivery.last_delivery, None)
        return last

    def followup_counts(self) -> dict[str, int]:
        """Confirmations and overdue units (follow-up), for /healthz and /metrics."""
        followup = self.followup
        return self._known("followup", followup.counts, {}) if followup is not None else {}

    def _known(self, name: str, read: Callable[[], Any], default: Any) -> Any:
        """`read()`, or while the store is unavailable the last value it gave (so
        /healthz, /metrics and systemd's status keep answering during an outage)."""
        if not self.store_health.may_try():
            return self._last_known.get(name, default)
        try:
            value = read()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            self.store_health.failed(exc, self.clock.now(), "answering a status request")
            return self._last_known.get(name, default)
        self.store_health.answered(self.clock.now())
        self._last_known[name] = value
        return value

    # -- reload --------------------------------------------------------------------------

    def cannot_change(self, old: Config, new: Config) -> list[str]:
        """Settings a reload cannot apply to a running process (they need a restart)."""
        notes = []
        if (old.web.host, old.web.port) != (new.web.host, new.web.port):
            notes.append(f"[web] listen {new.web.host}:{new.web.port} takes effect at the "
                         f"next restart; still listening on {old.web.host}:{old.web.port}")
        if old.web.workers != new.web.workers:
            notes.append("[web] workers takes effect at the next restart; still "
                         f"{worker_count(old.web.workers)} workers")
        if old.state_dir != new.state_dir:
            notes.append(f"[state] dir {new.state_dir} takes effect at the next restart; "
                         f"still using {old.state_dir}")
        return notes

    def prepare(self, new: Config) -> None:
        """Build what `swap_config` will need from `new` (templates are compiled here), so
        that a config that cannot run fails before anything is swapped."""
        Delivery(new, self.ledger, self.transport, self.clock)

    async def swap_config(self, new: Config) -> None:
        """Use `new` from now on: delivery and the web state see it; the mail transport is
        reopened if [mail] changed."""
        if new.mail != self.config.mail:
            old_stack, self._transport_stack = self._transport_stack, AsyncExitStack()
            self.transport = await enter(self._transport_stack, open_transport(new))
            await old_stack.aclose()
        delivery = Delivery(new, self.ledger, self.transport, self.clock)
        delivery.adopt(self.delivery)
        self.delivery = delivery
        if hasattr(self.state, "set_config"):
            self.state.set_config(new)
        if self.followup is not None:
            self.followup.set_config(new)
        self.config = new


def _log_level() -> str:
    """The level lichnhac logs at now (a reload may change it), for the workers."""
    level = logging.getLogger(ROOT_LOGGER).level
    return next((name for name, value in LEVELS.items() if value == level), "info")


async def _stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


def open_answering_store(config: Config) -> Store:
    """Open the configured store and ask it one question, so that a database that is not
    answering fails here (and is retried) rather than later."""
    store = open_store(config)
    try:
        store.ping()
    except BaseException:
        store.close()
        raise
    return store


async def open_parts(stack: AsyncExitStack, config: Config, clock: Clock,
                     metrics: DaemonMetrics, health: Callable[[], dict[str, Any]],
                     store: Store | None = None) -> DaemonParts:
    """Open the ledger (unless `store` is an open one) and the transport and build the
    (not yet serving) web app."""
    ledger = await enter(stack, store if store is not None else open_store(config))
    stack.enter_context(serving(config, ledger))   # documents(config) is this store now
    if config.database_url is not None:
        from scheduler.database_url import masked

        log.info("store: PostgreSQL %s, node %s", masked(config.database_url), ledger.owner)
    else:
        log.info("ledger open in %s", config.state_dir)
    recovered = ledger.recover_interrupted()   # this node's claims from before a crash
    if recovered:
        log.warning("%d reminder(s) were being sent when this node stopped: they go out "
                    "again under the same Message-ID", recovered)
    transport_stack = AsyncExitStack()
    transport = await enter(transport_stack, open_transport(config))
    state = WebState(clock)
    app = create_app(state, config)
    metrics.install(app)
    followup = FollowupSite(config, ledger, clock)
    followup.install(app)
    parts = DaemonParts(config, clock, ledger, transport, state, app)
    parts.followup = followup
    parts.metrics = metrics
    state.health = lambda: {**health(), **parts.serving_health()}
    await parts.open_serving(stack)
    parts._transport_stack = transport_stack
    stack.push_async_callback(lambda: parts._transport_stack.aclose())
    return parts

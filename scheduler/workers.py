"""Serving workers: N processes answering the feeds on one shared port (`[web] workers`).

The main process binds one listening socket per worker, all on the same port with
`SO_REUSEPORT` (the kernel spreads new connections evenly over them), and starts the
worker processes (`python -m scheduler.worker`), worker i inheriting socket i; it never
accepts on them itself. So a delivery burst, a reload or a feed build in the main process
does not hold up a feed request, and the feeds are served by as many processes as there
are CPUs. (One socket shared by all would not spread the load: asyncio accepts every
pending connection in one go, so the first worker awake takes a whole burst of them.)

- **One snapshot, many workers.** After every build (start-up, the midnight rollover, a
  reload) the main process pickles the FeedSet once (`scheduler.snapshot`) and writes
  the same bytes, with a generation number, to every worker's stdin. A worker swaps it
  in between two requests and says `{"serving": N}`; `publish` returns when every worker
  serves generation N, so READY=1 (start-up, reload) means every worker serves the new
  bytes, all of them identical.
- **The rest goes to the main process.** Workers pass every request they do not serve
  from the snapshot (follow-up pages and POSTs, /healthz, /metrics) to the main
  process's own server on a unix socket in a private temp dir (`scheduler.worker`).
- **A worker that dies is replaced** at once with the current snapshot (after a pause
  that doubles, up to `MAX_RESPAWN_DELAY_SECONDS`, while new workers keep dying young);
  connections arriving meanwhile for its socket wait in that socket's queue, which the
  main process keeps open, until the replacement (inheriting the same socket) takes
  them: none is refused. Replacements are counted in
  /metrics and /healthz.
- **Stop**: SIGTERM to every worker (they finish the requests they have), SIGKILL after
  `STOP_GRACE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scheduler.clock import Clock
from scheduler.errors import LichnhacError
from scheduler.feeds import FeedSet
from scheduler.snapshot import dumps

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 10.0
# A worker that does not serve a new snapshot within this long is killed and replaced.
PUBLISH_TIMEOUT_SECONDS = 300.0
# A worker that dies younger than this is "dying young": the next respawn waits longer.
YOUNG_SECONDS = 30.0
MAX_RESPAWN_DELAY_SECONDS = 30.0
# Environment a worker must not inherit: it is not the service's main process.
PRIVATE_ENVIRON = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")


class WorkerError(LichnhacError):
    """A worker could not start serving (at start-up: the daemon does not start)."""


def worker_count(configured: int | None) -> int:
    """`[web] workers`: None ("auto") is one per CPU this process may run on."""
    if configured is not None:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def bind_sockets(host: str, port: int, workers: int) -> list[list[socket.socket]]:
    """For each worker, its own TCP sockets bound to host:port with `SO_REUSEPORT` (every
    address `host` resolves to, as asyncio's `create_server` binds them; port 0 picks one
    free port for all). They listen once their worker serves."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    addresses: list[tuple[Any, ...]] = []
    for family, kind, proto, _, address in infos:
        if (family, kind, proto, address) not in addresses:
            addresses.append((family, kind, proto, address))
    groups: list[list[socket.socket]] = []
    try:
        for _ in range(workers):
            group: list[socket.socket] = []
            groups.append(group)
            for family, kind, proto, address in addresses:
                sock = socket.socket(family, kind, proto)
                group.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if port == 0 and groups[0]:
                    address = (address[0], groups[0][0].getsockname()[1], *address[2:])
                sock.bind(address)
                sock.set_inheritable(True)
    except OSError:
        for group in groups:
            for sock in group:
                sock.close()
        raise
    return groups


@dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    started: float
    serving: int = 0  # the generation it serves (0: none yet)
    watch: asyncio.Task[None] | None = field(default=None, repr=False)


class WorkerPool:
    """The serving workers of one daemon; `start`, `publish` after each build, `stop`."""

    def __init__(self, sockets: Sequence[Sequence[socket.socket]], back: str,
                 log_level: Callable[[], str]) -> None:
        self.count = len(sockets)
        self.sockets = [list(group) for group in sockets]
        self.back = back
        self.log_level = log_level
        self.workers: dict[int, _Worker] = {}
        self.generation = 0
        self.restarts = 0
        self._payload = b""
        self._now: Callable[[], float] = time.time
        self._changed = asyncio.Condition()
        self._stopping = False
        self._started = False
        self._young_deaths = 0
        self._flooded: set[int] = set()
        self._flood_closed = 0
        self._respawns: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------------

    async def spawn(self) -> None:
        """Start every worker process; they wait for their first snapshot."""
        for index in range(self.count):
            await self._spawn(index)

    async def start(self, feedset: FeedSet, clock: Clock) -> None:
        """Wait until every worker serves `feedset` (then READY=1)."""
        try:
            await self.publish(feedset, clock, fail=True)
        except BaseException:
            await self.stop()
            raise
        self._started = True
        log.info("web: %d workers serving (pids %s)", self.count,
                 ", ".join(str(w.process.pid) for w in self.workers.values()))

    async def stop(self) -> None:
        """SIGTERM every worker; SIGKILL those still there after `STOP_GRACE_SECONDS`."""
        if self._stopping:
            return
        self._stopping = True
        for task in list(self._respawns):
            task.cancel()
        workers = list(self.workers.values())
        for worker in workers:
            if worker.process.returncode is None:
                worker.process.send_signal(signal.SIGTERM)
        if workers:
            _, pending = await asyncio.wait(
                {asyncio.ensure_future(w.process.wait()) for w in workers},
                timeout=STOP_GRACE_SECONDS)
            for worker in workers:
                if worker.process.returncode is None:
                    log.warning("web: worker %d (pid %d) did not stop in %.0f s: killed",
                                worker.index, worker.process.pid, STOP_GRACE_SECONDS)
                    worker.process.kill()
            if pending:
                await asyncio.wait(pending, timeout=5)
        for worker in workers:
            if worker.watch is not None:
                await worker.watch

    @property
    def started(self) -> bool:
        """Whether `start` has returned (the workers serve)."""
        return self._started

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers.values()]

    # -- snapshots -----------------------------------------------------------------------

    async def publish(self, feedset: FeedSet, clock: Clock, fail: bool = False) -> None:
        """Send `feedset` to every worker and wait until all of them serve it.

        A worker that does not within `PUBLISH_TIMEOUT_SECONDS` is killed (and replaced
        with this snapshot); with `fail` (start-up) that is an error instead.
        """
        payload = await asyncio.to_thread(dumps, feedset)
        self.generation += 1
        generation = self.generation
        self._payload = payload
        self._now = lambda: clock.now().timestamp()
        for worker in list(self.workers.values()):
            await self._send(worker)
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(
                    lambda: self._stopping or (fail and self._dead_at_start())
                    or all(w.serving >= generation for w in self.workers.values())),
                    PUBLISH_TIMEOUT_SECONDS)
        except TimeoutError:
            late = [w for w in self.workers.values() if w.serving < generation]
            if fail:
                raise WorkerError(f"web workers did not start serving within "
                                  f"{PUBLISH_TIMEOUT_SECONDS:.0f} s") from None
            for worker in late:
                log.error("web: worker %d (pid %d) did not take the new feeds within %.0f s: "
                          "replacing it", worker.index, worker.process.pid,
                          PUBLISH_TIMEOUT_SECONDS)
                worker.process.kill()
        if fail and self._dead_at_start():
            raise WorkerError("a web worker exited while starting: see the lines above")
        log.debug("web: every worker serves feed generation %d (%d bytes)", generation,
                  len(payload))

    def _dead_at_start(self) -> bool:
        return any(w.process.returncode is not None for w in self.workers.values())

    async def _send(self, worker: _Worker) -> None:
        stdin = worker.process.stdin
        if stdin is None or stdin.is_closing() or not self._payload:
            return
        header = {"generation": self.generation, "size": len(self._payload),
                  "now": self._now(), "sent": time.time(), "log_level": self.log_level()}
        try:
            stdin.write(json.dumps(header).encode() + b"\n")
            stdin.write(self._payload)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # it died; its watcher replaces it

    # -- the processes -------------------------------------------------------------------

    async def _spawn(self, index: int) -> _Worker:
        fds = [sock.fileno() for sock in self.sockets[index]]
        environ = {k: v for k, v in os.environ.items() if k not in PRIVATE_ENVIRON}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "scheduler.worker", "--fds", ",".join(map(str, fds)),
            "--back", self.back, "--index", str(index), "--log-level", self.log_level(),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, pass_fds=fds,
            env=environ, limit=1 << 16)
        worker = _Worker(index, process, time.monotonic())
        self.workers[index] = worker
        worker.watch = asyncio.create_task(self._watch(worker), name=f"web-worker-{index}")
        log.debug("web: worker %d started, pid %d", index, process.pid)
        return worker

    async def _watch(self, worker: _Worker) -> None:
        """Read the worker's events until it exits; then replace it unless stopping."""
        stdout = worker.process.stdout
        assert stdout is not None
        while line := await stdout.readline():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if "serving" in event:
                worker.serving = int(event["serving"])
                async with self._changed:
                    self._changed.notify_all()
            elif "flood" in event:
                self._flood(worker.index, bool(event["flood"]), int(event.get("count", 0)),
                            int(event.get("closed", 0)))
        status = await worker.process.wait()
        self._flood(worker.index, False, 0, 0)
        async with self._changed:
            self._changed.notify_all()
        if self._stopping or self.workers.get(worker.index) is not worker:
            return
        lived = time.monotonic() - worker.started
        if not self._started:
            return  # start() reports it: the daemon does not start
        self._young_deaths = self._young_deaths + 1 if lived < YOUNG_SECONDS else 0
        delay = 0.0 if self._young_deaths == 0 else min(
            MAX_RESPAWN_DELAY_SECONDS, 0.5 * 2 ** (self._young_deaths - 1))
        log.warning("web: worker %d (pid %d) exited with status %s after %.0f s; starting a "
                    "new one%s", worker.index, worker.process.pid, _describe(status), lived,
                    f" in {delay:.1f} s" if delay else "")
        task = asyncio.create_task(self._respawn(worker.index, delay))
        self._respawns.add(task)
        task.add_done_callback(self._respawns.discard)

    async def _respawn(self, index: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._stopping:
            return
        self.restarts += 1
        worker = await self._spawn(index)
        await self._send(worker)

    def _flood(self, index: int, on: bool, count: int, closed: int) -> None:
        """Log a connection flood once for all workers: when the first starts shedding and
        when the last one is calm again."""
        if on and index not in self._flooded:
            if not self._flooded:
                self._flood_closed = 0
                log.warning("web: %d connections open, the limit: closing the oldest idle "
                            "ones (a flood of idle or slow clients?)", count)
            self._flooded.add(index)
        elif not on and index in self._flooded:
            self._flooded.discard(index)
            self._flood_closed += closed
            if not self._flooded:
                log.warning("web: connections back to normal; %d idle or slow ones were "
                            "closed over the limit", self._flood_closed)

    # -- what we tell people -------------------------------------------------------------

    def serving(self) -> int:
        """Workers alive and serving the current generation."""
        return sum(1 for w in self.workers.values() if w.process.returncode is None
                   and w.serving == self.generation)

    def health(self) -> dict[str, Any]:
        """The /healthz fields of the serving workers."""
        return {"web_workers": self.count, "web_workers_serving": self.serving(),
                "feed_generation": self.generation, "web_worker_restarts": self.restarts}

    def collector(self) -> Collector:
        return _PoolCollector(self)


class _PoolCollector(Collector):
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def collect(self) -> Iterator[Metric]:
        pool = self.pool
        for name, text, value in (
                ("web_workers", "Serving worker processes configured", pool.count),
                ("web_workers_serving", "Serving workers alive and serving the current "
                 "feeds", pool.serving()),
                ("feed_generation", "Feed builds sent to the serving workers since start",
                 pool.generation)):
            family = GaugeMetricFamily(f"lichnhac_{name}", text)
            family.add_metric([], value)
            yield family
        restarts = CounterMetricFamily("lichnhac_web_worker_restarts",
                                       "Serving workers that exited and were replaced")
        restarts.add_metric([], pool.restarts)
        yield restarts


def _describe(status: int) -> str:
    if status < 0:
        try:
            return f"{-status} ({signal.Signals(-status).name})"
        except ValueError:
            return str(status)
    return str(status)

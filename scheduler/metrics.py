"""Prometheus metrics of the running daemon, served at `/metrics`.

Each daemon owns its own `CollectorRegistry` (not the process-global one), so tests and
benches can run several in one process. Counters count what this process did since it
started (reminders sent, failed, missed; reloads that worked or not); gauges are read at
scrape time from a `snapshot` callback (the ledger's totals, the next reminder, feeds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from scheduler.connections import GUARD_KEY

PREFIX = "lichnhac"


@dataclass(frozen=True)
class Snapshot:
    """The daemon's state as gauges see it, taken at scrape time."""

    next_reminder_timestamp: float | None = None
    last_delivery_timestamp: float | None = None
    config_loaded_timestamp: float = 0.0
    ledger_counts: Mapping[str, int] = field(default_factory=dict)
    feed_count: int = 0
    feed_bytes: int = 0
    followup: Mapping[str, int] = field(default_factory=dict)  # confirmations, overdue_units
    store_up: bool = True
    store_since_timestamp: float | None = None
    unrecorded: int = 0


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        now = self.snapshot()
        yield _gauge("next_reminder_timestamp_seconds",
                     "Unix time of the next reminder send (absent when none is planned)",
                     now.next_reminder_timestamp)
        yield _gauge("last_delivery_timestamp_seconds",
                     "Unix time of the last delivery run", now.last_delivery_timestamp)
        yield _gauge("config_loaded_timestamp_seconds",
                     "Unix time the running config was loaded", now.config_loaded_timestamp)
        yield _gauge("feeds", "Number of feeds served", now.feed_count)
        yield _gauge("feed_bytes", "Total size of the feeds served, in bytes", now.feed_bytes)
        ledger = GaugeMetricFamily(f"{PREFIX}_ledger_reminders",
                                   "Reminders in the ledger, by state", labels=["state"])
        for state, count in sorted(now.ledger_counts.items()):
            ledger.add_metric([state], count)
        yield ledger
        yield _gauge("confirmations", "Follow-up: reports confirmed as sent",
                     now.followup.get("confirmations"))
        yield _gauge("store_up", "1 while the store (database) answers, 0 during an outage",
                     1 if now.store_up else 0)
        yield _gauge("store_state_since_timestamp_seconds",
                     "Unix time the store became available or unavailable",
                     now.store_since_timestamp)
        yield _gauge("unrecorded_results", "Emails sent whose result waits for the store to "
                     "answer", now.unrecorded)
        yield _gauge("overdue_units", "Follow-up: units with an overdue, unconfirmed report "
                     "this year or last", now.followup.get("overdue_units"))


class _GuardCollector(Collector):
    """The web server's connections (`scheduler.connections`): open now, and closed by
    the guard since start (over the limit, or because the client stopped reading)."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        guard = self.app.get(GUARD_KEY)
        if guard is None:
            return
        counts = guard.counts()
        yield _gauge("web_connections", "Web connections open", counts["open"])
        closed = CounterMetricFamily(f"{PREFIX}_web_connections_closed",
                                     "Web connections closed by the guard, by reason",
                                     labels=["reason"])
        closed.add_metric(["over_limit"], counts["closed_over_limit"])
        closed.add_metric(["stalled"], counts["closed_stalled"])
        yield closed


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation)
    if value is not None:
        family.add_metric([], value)
    return family


class DaemonMetrics:
    """The counters the daemon bumps and the registry `/metrics` renders."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reminders = Counter(f"{PREFIX}_reminders", "Reminder emails handled by this "
                                 "process, by outcome", ["outcome"], registry=self.registry)
        for outcome in ("sent", "failed", "missed"):
            self.reminders.labels(outcome)
        self.reloads = Counter(f"{PREFIX}_config_reloads", "Config reloads (SIGHUP), by result",
                               ["result"], registry=self.registry)
        for result in ("success", "failure"):
            self.reloads.labels(result)
        self.feed_builds = Counter(f"{PREFIX}_feed_builds", "Feed rebuilds",
                                   registry=self.registry)
        self.registry.register(_SnapshotCollector(snapshot))

    def count_delivery(self, sent: int, failed: int, missed: int) -> None:
        for outcome, number in (("sent", sent), ("failed", failed), ("missed", missed)):
            if number:
                self.reminders.labels(outcome).inc(number)

    def count_reload(self, ok: bool) -> None:
        self.reloads.labels("success" if ok else "failure").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def handle(self, request: web.Request) -> web.Response:
        """GET /metrics: the Prometheus text format (0.0.4 unless the scraper asks for
        OpenMetrics or a newer text version in `Accept`)."""
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(self.registry), headers={"Content-Type": content_type})

    def install(self, app: web.Application) -> None:
        """Add GET /metrics to the web app (before its runner starts), with the web
        server's connection guard's counts once it listens."""
        app.router.add_get("/metrics", self.handle)
        self.registry.register(_GuardCollector(app))

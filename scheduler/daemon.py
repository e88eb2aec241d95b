"""`lichnhac run`: the daemon's lifecycle around the pure core.

One asyncio loop holds everything, opened in this order and closed in reverse by one
`AsyncExitStack`: the ledger, the mail transport, delivery, a catch-up delivery run, the
feeds, the web server (with /healthz and /metrics), the APScheduler 3 scheduler. Then
systemd hears READY=1.

The scheduler holds two one-shot `DateTrigger` jobs with stable ids, each rescheduled
after it runs: "deliver" at the next reminder's send time (no polling), and
"feeds-rollover" just after midnight, since a feed's window depends on today.

Signal handlers only set events; the main loop acts on them. SIGHUP reloads (validate
fully and build the new feeds, then swap; on any failure, an internal error included,
keep the old config, log "reload failed", count it and send READY=1; a reload removing
most units needs `check --accept-removals` first, see `scheduler.removals`; reminders the
new config adds for today are planned and, if already due, sent).
SIGTERM/SIGINT stop, during start-up or a reload too: no new work, the in-flight
delivery gets a bounded wait and is then cancelled (the ledger keeps what it had
claimed), everything closes, exit status 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from scheduler.clock import Clock, SystemClock
from scheduler.config import Config, load_config
from scheduler.daemon_parts import DaemonParts, open_answering_store, open_parts
from scheduler.errors import ConfigError
from scheduler.i18n import in_language
from scheduler.logs import set_level
from scheduler.metrics import DaemonMetrics, Snapshot
from scheduler.notify import Notifier, watchdog_interval
from scheduler.removals import confirmed, refusal, removes_most
from scheduler.store.outage import StoreHealth, is_unavailable, until_available

log = logging.getLogger(__name__)

DELIVER_JOB = "deliver"
ROLLOVER_JOB = "feeds-rollover"
# How long SIGTERM waits for an in-flight delivery before cancelling it; below systemd's
# default TimeoutStopSec (90 s) and the unit's (30 s).
SHUTDOWN_GRACE_SECONDS = 20.0
# Never wake more often than this even if delivery says "again now" (a failing server).
MIN_WAKE_SECONDS = 5.0
# After an unexpected error planning the next wake-up, try again this much later.
RETRY_PLANNING_SECONDS = 300.0
# While starting, ask systemd for more start-up time this often (EXTEND_TIMEOUT_USEC).
START_EXTEND_EVERY_SECONDS = 20.0
# Rebuild feeds a little after midnight so the new day has surely begun.
ROLLOVER_DELAY = timedelta(seconds=5)


class Daemon:
    """The running service; `await Daemon(...).run()` returns the exit status."""

    def __init__(self, config: Config, clock: Clock, notifier: Notifier,
                 environ: Mapping[str, str] | None = None,
                 shutdown_grace: float = SHUTDOWN_GRACE_SECONDS,
                 log_level_override: str | None = None) -> None:
        self.config = config
        self.clock = clock
        self.wall = SystemClock(config.timezone)
        self.notifier = notifier
        self.environ = environ or {}
        self.shutdown_grace = shutdown_grace
        self.log_level_override = log_level_override  # --log-level beats [log] level
        self.config_loaded_at = clock.now()
        self.parts: DaemonParts | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.next_reminder: datetime | None = None
        # The `now` of the last delivery run: whatever came due after it is still to send,
        # even if its time passed while we were busy (building feeds at start-up, a reload).
        self.delivered_through: datetime | None = None
        self.store_health = StoreHealth()
        self.metrics = DaemonMetrics(self.snapshot)
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._work_lock = asyncio.Lock()
        self._in_flight: asyncio.Task[Any] | None = None
        self._reloading: asyncio.Task[bool] | None = None
        self._stopping = False

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum, event in ((signal.SIGHUP, self._reload), (signal.SIGTERM, self._stop),
                              (signal.SIGINT, self._stop)):
            loop.add_signal_handler(signum, event.set)
        try:
            async with AsyncExitStack() as stack:
                stack.callback(self.notifier.close)
                # Start-up (a long catch-up included) races SIGTERM: a stop asked for
                # while catching up must not wait for the whole catch-up.
                starting = asyncio.create_task(self._start(stack), name="start-up")
                stop = asyncio.create_task(self._stop.wait(), name="stop-wait")
                await asyncio.wait({starting, stop}, return_when=asyncio.FIRST_COMPLETED)
                if starting.done():
                    starting.result()  # start-up errors (a port in use) end the run here
                    await self._serve_until_stopped()
                self.notifier.stopping()
                log.info("stopping")
                await self._finish_in_flight()
                await _cancel(starting)
                await _cancel(stop)
            log.info("stopped")
        finally:
            for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        return 0

    async def _start(self, stack: AsyncExitStack) -> None:
        config = self.config
        log.info("lichnhac starting: config files %s", ", ".join(config.files))
        for warning in config.warnings:
            log.warning("%s", warning)
        keepalive = asyncio.create_task(self._keep_start_alive(), name="start-keepalive")
        try:
            # READY=1 waits for the store: a node whose database is not answering
            # says why (log, STATUS=) and keeps trying, 1 s → 30 s apart.
            store = await until_available(lambda: open_answering_store(config),
                                          self.store_health, self.clock.now,
                                          "opening it at start", self._waiting_for_store)
            self.parts = await open_parts(stack, config, self.clock, self.metrics,
                                          self.health, store)
            self.parts.store_health = self.store_health
            await self._deliver("catch-up")
            await self._rebuild_feeds()
            await self.parts.serve(stack)
        finally:
            await _cancel(keepalive)
        log.info("serving feeds on http://%s:%d (%s)", *self.parts.listening(),
                 config.web.base_url)

        self.scheduler = AsyncIOScheduler(timezone=config.timezone)
        self.scheduler.start()
        stack.callback(self._shutdown_scheduler)
        self._schedule_delivery_or_retry()
        self._schedule_rollover()

        interval = watchdog_interval(self.environ)
        if interval is not None and self.notifier.enabled:
            task = asyncio.create_task(self._watchdog(interval), name="watchdog")
            stack.push_async_callback(_cancel, task)
        self.notifier.ready(self.status_line())
        log.info("ready: %s", self.status_line())

    async def _keep_start_alive(self) -> None:
        """While starting, keep pushing systemd's start timeout out (a catch-up after a
        long outage at national scale can take longer than TimeoutStartSec=, and a node
        waits for its database as long as it takes: restarting would not help)."""
        while True:
            await asyncio.sleep(START_EXTEND_EVERY_SECONDS)
            health = self.store_health
            self.notifier.extend_timeout(
                START_EXTEND_EVERY_SECONDS * 3,
                f"starting: waiting for the store: {health.error}"
                if health.state == "unavailable" else "starting: catching up on due reminders")

    async def _serve_until_stopped(self) -> None:
        """Wait for signals; a reload runs as its own task so SIGTERM can interrupt it."""
        stop = asyncio.create_task(self._stop.wait())
        try:
            while not self._stop.is_set():
                reload = asyncio.create_task(self._reload.wait())
                await asyncio.wait({stop, reload}, return_when=asyncio.FIRST_COMPLETED)
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    self._reloading = asyncio.create_task(self.reload(), name="reload")
                    await asyncio.wait({stop, self._reloading},
                                       return_when=asyncio.FIRST_COMPLETED)
                await _cancel(reload)
        finally:
            await _cancel(stop)

    def _shutdown_scheduler(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _finish_in_flight(self) -> None:
        """Stop taking work; give a running delivery `shutdown_grace` seconds, then cancel."""
        self._stopping = True
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()
        task = self._in_flight
        if task is not None and not task.done():
            log.info("waiting up to %.0f s for the delivery in progress", self.shutdown_grace)
            done, _ = await asyncio.wait({task}, timeout=self.shutdown_grace)
            if not done:
                log.warning("delivery still running after %.0f s: abandoning it; the ledger "
                            "keeps its unsent reminders for the next start",
                            self.shutdown_grace)
                await _cancel(task)
        if self._reloading is not None and not self._reloading.done():
            log.info("stopping in the middle of a reload: the new config is not applied")
            await _cancel(self._reloading)

    async def _watchdog(self, interval: float) -> None:
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    # -- work ----------------------------------------------------------------------------

    async def _deliver(self, why: str) -> None:
        """Send what is due now, then reschedule the wake-up at the next send time."""
        assert self.parts is not None
        if self._stopping:
            return
        retry: float | None = None
        async with self._work_lock:
            self._in_flight = asyncio.current_task()
            try:
                now = self.clock.now()
                result = await self.parts.delivery.deliver_due(now)
                self.store_health.answered(self.clock.now())
                self.delivered_through = now
                sent, failed, missed = self.parts.report_counts(result)
                self.metrics.count_delivery(sent, failed, missed)
                if sent or failed or missed:
                    log.info("%s delivery: %d sent, %d failed, %d missed", why, sent, failed,
                             missed)
            except Exception as exc:
                if is_unavailable(exc):
                    # The store is away: pause, try again soon; nothing is lost (the
                    # ledger keeps what is planned, delivery what it could not record).
                    retry = self.store_health.failed(exc, self.clock.now(),
                                                     f"delivering ({why})")
                else:
                    # One bad run must not end the service; the ledger has the truth.
                    log.exception("%s delivery failed", why)
            finally:
                self._in_flight = None
        if retry is not None:
            self._wake_in(retry)
        else:
            self._schedule_delivery_or_retry()
        self.notifier.status(self.status_line())

    def _schedule_delivery_or_retry(self) -> None:
        """Reschedule the wake-up; if that fails, try again later (soon if the store is
        only unavailable)."""
        try:
            self._schedule_delivery()
        except Exception as exc:
            if is_unavailable(exc):
                self._wake_in(self.store_health.failed(exc, self.clock.now(),
                                                       "planning the next wake-up"))
                return
            log.exception("planning the next wake-up failed; retrying in %.0f s",
                          RETRY_PLANNING_SECONDS)
            self._wake_in(RETRY_PLANNING_SECONDS)

    def _waiting_for_store(self, reason: str) -> None:
        self.notifier.status(f"waiting for the store: {reason}")

    async def _deliver_job(self) -> None:
        await self._deliver("scheduled")

    async def _rebuild_feeds(self) -> None:
        assert self.parts is not None
        now = self.clock.now()
        changed = self.parts.serve_feeds(await self.parts.build_feeds(self.config, now.date(),
                                                                      now))
        await self.parts.publish_feeds()
        self.metrics.feed_builds.inc()
        log.info("feeds built for %s: %d feeds, %d changed", now.date().isoformat(),
                 self.parts.feed_count(), changed)

    async def _rollover_job(self) -> None:
        retry: float | None = None
        try:
            async with self._work_lock:
                await self._rebuild_feeds()
        except Exception as exc:
            # Yesterday's feeds stay served; tomorrow's rollover is still scheduled, and
            # today's is tried again soon if only the store was away.
            if is_unavailable(exc):
                retry = self.store_health.failed(exc, self.clock.now(),
                                                 "rebuilding the feeds")
            else:
                log.exception("rebuilding the feeds for the new day failed")
        finally:
            self._schedule_rollover(retry)

    def _at_wall(self, moment: datetime) -> datetime:
        """The wall-clock instant at which our (possibly shifted) clock reads `moment`."""
        return self.wall.now() + (moment - self.clock.now())

    def _schedule_delivery(self) -> None:
        if self.parts is None:
            return
        now = self.clock.now()
        # Ask from the last delivery run, not from now: a send time that passed since (the
        # feeds were building) is due at once rather than skipped to the next one.
        after = min(now, self.delivered_through or now)
        self.next_reminder = self.parts.delivery.next_send_time(after)
        if self.scheduler is None or not self.scheduler.running:
            return
        if self.next_reminder is None:
            if self.scheduler.get_job(DELIVER_JOB):
                self.scheduler.remove_job(DELIVER_JOB)
            log.info("no reminder planned")
            return
        wake = self.next_reminder if self.next_reminder > now \
            else now + timedelta(seconds=MIN_WAKE_SECONDS)
        self.scheduler.add_job(self._deliver_job, DateTrigger(run_date=self._at_wall(wake)),
                               id=DELIVER_JOB, replace_existing=True, coalesce=True,
                               misfire_grace_time=None)
        log.debug("next wake-up for delivery at %s", wake.isoformat())

    def _wake_in(self, seconds: float) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.add_job(self._deliver_job, DateTrigger(
                run_date=self.wall.now() + timedelta(seconds=seconds)), id=DELIVER_JOB,
                replace_existing=True, coalesce=True, misfire_grace_time=None)

    def _schedule_rollover(self, retry: float | None = None) -> None:
        if self.scheduler is None:
            return
        now = self.clock.now()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(),
                                    tzinfo=self.config.timezone)
        run_at = self._at_wall(midnight + ROLLOVER_DELAY) if retry is None \
            else self.wall.now() + timedelta(seconds=retry)
        self.scheduler.add_job(self._rollover_job, DateTrigger(run_date=run_at),
                               id=ROLLOVER_JOB, replace_existing=True, coalesce=True,
                               misfire_grace_time=None)

    # -- reload --------------------------------------------------------------------------

    async def reload(self) -> bool:
        """Validate the config again; swap it in if valid, keep the old one if not.

        Nothing changes until the new config has loaded and its feeds have been built;
        then delivery, the web state and the wake-ups switch over together.
        """
        self.notifier.reloading()
        log.info("reloading %s", self.config.files[0])
        try:
            with in_language("en"):  # its problems go to the operators' log: English
                return await self._reload_config()
        except Exception as exc:
            # A bug, an I/O error, a transport that cannot open: whatever it is, the old
            # config keeps running and systemd hears READY=1 after its RELOADING=1.
            log.exception("reload failed: internal error: %s: %s", type(exc).__name__, exc)
            return self._reload_failed()

    async def _reload_config(self) -> bool:
        try:
            new = await asyncio.to_thread(load_config, self.config.path)
        except ConfigError as exc:
            for problem in exc.problems:
                if problem.severity == "error":
                    log.error("reload failed: %s", problem)
            return self._reload_failed()
        old_ids, new_ids = [u.id for u in self.config.units], [u.id for u in new.units]
        removed = removes_most(old_ids, new_ids)
        if removed and not confirmed(self.config.state_dir, new_ids):
            log.error("%s", refusal(removed, len(old_ids), self.config.path))
            return self._reload_failed()
        assert self.parts is not None
        try:
            self.parts.prepare(new)
        except ConfigError as exc:  # a template that does not compile
            for problem in exc.problems:
                log.error("reload failed: %s", problem)
            return self._reload_failed()
        async with self._work_lock:
            now = self.clock.now()
            try:
                feedset = await self.parts.build_feeds(new, now.date(), now)
            except Exception as exc:  # an I/O error in the state dir, a bug
                log.exception("reload failed: building the feeds: %s", exc)
                return self._reload_failed()
            for note in self.parts.cannot_change(self.config, new):
                log.warning("reload: %s", note)
            await self.parts.swap_config(new)
            self.config = new
            self.config_loaded_at = now
            set_level(self.log_level_override or new.log_level)
            changed = self.parts.serve_feeds(feedset)
            await self.parts.publish_feeds()
            self.metrics.feed_builds.inc()
        self._schedule_delivery_or_retry()
        self._schedule_rollover()
        self.metrics.count_reload(True)
        log.info("reloaded: config files %s; %d of %d feeds changed", ", ".join(new.files),
                 changed, self.parts.feed_count())
        self.notifier.ready(self.status_line())
        # A delivery run re-plans today under the new config (an event added, a unit
        # given an email) and sends what of it is already due, instead of waiting for
        # the next wake-up; with nothing due it sends nothing.
        await self._deliver("after-reload")
        return True

    def _reload_failed(self) -> bool:
        log.error("reload failed: keeping the config loaded at %s",
                  self.config_loaded_at.isoformat(timespec="seconds"))
        self.metrics.count_reload(False)
        self.notifier.ready(self.status_line())
        return False

    # -- what we tell people -------------------------------------------------------------

    def status_line(self) -> str:
        """systemd's STATUS=: the next reminder and the last delivery."""
        nxt = self._zoned(self.next_reminder) if self.next_reminder else "none"
        last = self.parts.last_delivery() if self.parts else None
        done = self._zoned(last) if last else "none yet"
        return f"next reminder {nxt}; last delivery {done}"

    def _zoned(self, at: datetime) -> str:
        """`2026-06-10 08:00 +07:00 (Asia/Ho_Chi_Minh)`: a time in the deployment's zone,
        labelled, so it is not taken for the server clock's (which the log line's own
        timestamp shows, with its offset)."""
        local = at.astimezone(self.config.timezone)
        offset = local.isoformat()[-6:] if local.utcoffset() else "+00:00"
        return f"{local:%Y-%m-%d %H:%M} {offset} ({self.config.timezone_name})"

    def health(self) -> dict[str, Any]:
        """The /healthz document."""
        assert self.parts is not None
        counts = self.parts.ledger_counts()
        last = self.parts.last_delivery()
        followup = self.parts.followup_counts()
        down = self.store_health.state != "ok"
        return {
            "status": "stopping" if self._stopping else "degraded" if down else "ok",
            **self.store_health.as_json(),
            "unrecorded": self.parts.delivery.unrecorded,
            "config_loaded_at": self.config_loaded_at.isoformat(timespec="seconds"),
            "config_files": list(self.config.files),
            "next_reminder": self.next_reminder.isoformat() if self.next_reminder else None,
            "last_delivery": last.isoformat(timespec="seconds") if last else None,
            "failed": counts.get("failed", 0),
            "missed": counts.get("missed", 0),
            **followup,
        }

    def snapshot(self) -> Snapshot:
        """What /metrics' gauges read at scrape time."""
        if self.parts is None:
            return Snapshot(config_loaded_timestamp=self.config_loaded_at.timestamp())
        last = self.parts.last_delivery()
        return Snapshot(
            next_reminder_timestamp=self.next_reminder.timestamp() if self.next_reminder
            else None,
            last_delivery_timestamp=last.timestamp() if last else None,
            config_loaded_timestamp=self.config_loaded_at.timestamp(),
            ledger_counts=self.parts.ledger_counts(),
            feed_count=self.parts.feed_count(), feed_bytes=self.parts.feed_bytes(),
            followup=self.parts.followup_counts(),
            store_up=self.store_health.state == "ok",
            store_since_timestamp=self.store_health.since.timestamp()
            if self.store_health.since else None,
            unrecorded=self.parts.delivery.unrecorded)


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("task %s failed while being cancelled", task.get_name())

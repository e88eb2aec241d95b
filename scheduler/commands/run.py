"""`lichnhac run`: start the daemon (feeds, web server, reminders) until SIGTERM.

Under systemd (`Type=notify`) the daemon reports READY=1 once it serves; from a terminal
it simply runs until Ctrl-C. `$LICHNHAC_NOW` starts the daemon's clock at that instant
and lets it run forward in real time (a rehearsal of a given day: reminders due at
08:00 go out when that clock reaches 08:00).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from datetime import datetime, timedelta

from scheduler.clock import Clock
from scheduler.commands import anchor_epoch, clock_for, load
from scheduler.config import Config
from scheduler.i18n import in_language
from scheduler.logs import setup_logging
from scheduler.notify import Notifier

log = logging.getLogger("scheduler.run")


class RunningClock:
    """A clock that starts at a chosen instant and then advances with real time."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("RunningClock needs an aware datetime")
        self.start = start
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


class AnchoredClock:
    """A clock that read `start` at the Unix time `epoch` and advances with real time:
    several processes given the same pair share one rehearsal clock (several nodes)."""

    def __init__(self, start: datetime, epoch: float) -> None:
        if start.tzinfo is None:
            raise ValueError("AnchoredClock needs an aware datetime")
        self.start = start
        self.epoch = epoch

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.time() - self.epoch)


def daemon_clock(config: Config) -> Clock:
    """The system clock, or a running clock starting at `$LICHNHAC_NOW`: when the process
    starts, or, for `<date-time>@<Unix seconds>`, at that Unix time (processes given the
    same value share one clock)."""
    clock = clock_for(config)
    pinned = os.environ.get("LICHNHAC_NOW", "")
    if pinned:
        epoch = anchor_epoch(pinned)
        if epoch is not None:
            return AnchoredClock(clock.now(), epoch)
        return RunningClock(clock.now())
    return clock


def main(args: argparse.Namespace) -> int:
    with in_language("en"):  # the daemon speaks to operators' logs: English, stable for grep
        config = load(args)
    setup_logging(args.log_level or config.log_level)
    from scheduler.daemon import Daemon

    daemon = Daemon(config, daemon_clock(config), Notifier.from_environ(os.environ), os.environ,
                    log_level_override=args.log_level)
    return asyncio.run(daemon.run())

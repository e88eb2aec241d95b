"""One module per command; each exposes `main(args) -> exit status`."""

from __future__ import annotations

import argparse
import os
from datetime import date, timedelta
from pathlib import Path

from scheduler.clock import Clock, FixedClock, SystemClock
from scheduler.config import Config, default_config_path, load_config
from scheduler.errors import UsageError
from scheduler.i18n import _

# Windows a command may ask for: wide enough for any plan, bounded so that expanding every
# event over it stays quick.
FIRST_YEAR, LAST_YEAR = 1900, 2200
MAX_WINDOW_DAYS = 10 * 366


def load(args: argparse.Namespace, calendars: list[str] | None = None) -> Config:
    """The config named by `--config`/`$LICHNHAC_CONFIG`/`./config.toml`.

    With `calendars` (from `--calendar`) and no config named anywhere, a missing
    ./config.toml means the built-in defaults, so a draft calendar can be read on its own.
    """
    explicit = args.config or os.environ.get("LICHNHAC_CONFIG")
    path = default_config_path(args.config, os.environ)
    return load_config(path, calendars=calendars,
                       allow_missing=bool(calendars) and not explicit)


def anchor_epoch(pinned: str) -> float | None:
    """The `@<Unix seconds>` of `$LICHNHAC_NOW=<date-time>@<Unix seconds>` (the Unix time
    at which a running clock read that date-time), or None."""
    _, at, epoch = pinned.rpartition("@")
    try:
        return float(epoch) if at else None
    except ValueError:
        return None


def clock_for(config: Config) -> Clock:
    """The system clock, or a fixed one from $LICHNHAC_NOW (ISO 8601) for scripted runs."""
    pinned = os.environ.get("LICHNHAC_NOW")
    if pinned:
        from datetime import datetime

        if anchor_epoch(pinned) is not None:
            pinned = pinned.rpartition("@")[0]
        try:
            at = datetime.fromisoformat(pinned)
        except ValueError:
            raise UsageError(_("LICHNHAC_NOW {value} is not an ISO 8601 date-time")
                             .format(value=repr(pinned))) from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=config.timezone)
        return FixedClock(at)
    return SystemClock(config.timezone)


def window(args: argparse.Namespace, clock: Clock) -> tuple[date, date]:
    """`--from`/`--to`, defaulting to today and one year on; --to before --from is a usage error."""
    start: date = args.start or clock.now().date()
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise UsageError(_("--from {day} is out of range: expected a day in {first}-{last}")
                         .format(day=start.isoformat(), first=FIRST_YEAR, last=LAST_YEAR))
    end: date = args.end or _one_year_after(start)
    if end < start:
        raise UsageError(_("--to {end} is before --from {start}")
                         .format(end=end.isoformat(), start=start.isoformat()))
    if not FIRST_YEAR <= end.year <= LAST_YEAR:
        raise UsageError(_("--to {day} is out of range: expected a day in {first}-{last}")
                         .format(day=end.isoformat(), first=FIRST_YEAR, last=LAST_YEAR))
    if (end - start).days > MAX_WINDOW_DAYS:
        raise UsageError(_("--from {start} --to {end} is too long a window: expected at "
                           "most {years} years").format(start=start.isoformat(),
                                                        end=end.isoformat(),
                                                        years=MAX_WINDOW_DAYS // 366))
    return start, end


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1) - timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def state_path(config: Config, *parts: str) -> Path:
    return config.state_dir.joinpath(*parts)

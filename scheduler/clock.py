"""The one place that reads the system time. Everything else is handed a `Clock`."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as an aware datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in the deployment's timezone."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock that stands still until moved: for tests and `simulate`."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def advance(self, delta: timedelta) -> None:
        self.at = self.at + delta


def today(clock: Clock) -> date:
    """The current date in the clock's own timezone."""
    return clock.now().date()

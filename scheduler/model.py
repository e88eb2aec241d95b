"""The domain model: units, events and the date rules that say when an event happens.

Everything here is frozen and pure. A `DateRule` turns a range of years into the
(start, end) spans of its occurrences; `occurrences.py` does the windowing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, Protocol

from dateutil.rrule import rrulestr

from scheduler.errors import LichnhacError
from scheduler.i18n import _

Kind = Literal["observance", "campaign", "deadline", "activity"]
KINDS: tuple[Kind, ...] = ("observance", "campaign", "deadline", "activity")

ALL_UNITS = "all"


@dataclass(frozen=True)
class Unit:
    """A recipient: a department, a committee, a school, a union branch."""

    id: str
    name: str
    emails: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Span:
    """One occurrence's dates (`end` inclusive) and the suffix that makes its key unique."""

    start: date
    end: date
    key: str


class DateRule(Protocol):
    """When an event happens."""

    def spans(self, first_year: int, last_year: int) -> Iterator[Span]:
        """Every occurrence starting in the years `first_year`..`last_year`."""
        ...

    def describe(self) -> str:
        """The rule as written in a calendar file, for messages."""
        ...


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:  # 29/02 outside leap years
        return None


def month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


@dataclass(frozen=True)
class YearlyDate:
    month: int
    day: int

    def spans(self, first_year: int, last_year: int) -> Iterator[Span]:
        for year in range(first_year, last_year + 1):
            day = _safe_date(year, self.month, self.day)
            if day:
                yield Span(day, day, str(year))

    def describe(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


@dataclass(frozen=True)
class YearlySpan:
    start: tuple[int, int]
    end: tuple[int, int]

    def spans(self, first_year: int, last_year: int) -> Iterator[Span]:
        for year in range(first_year, last_year + 1):
            start = _safe_date(year, *self.start)
            end = _safe_date(year, *self.end)
            if start and end:
                yield Span(start, end, str(year))

    def describe(self) -> str:
        return "{:02d}-{:02d} .. {:02d}-{:02d}".format(*self.start, *self.end)


@dataclass(frozen=True)
class YearlyMonth:
    month: int

    def spans(self, first_year: int, last_year: int) -> Iterator[Span]:
        for year in range(first_year, last_year + 1):
            yield Span(date(year, self.month, 1), month_end(year, self.month), str(year))

    def describe(self) -> str:
        return f"month {self.month}"


@dataclass(frozen=True)
class DatedSpan:
    """One dated day (start == end) or one dated span."""

    start: date
    end: date

    def spans(self, first_year: int, last_year: int) -> Iterator[Span]:
        if first_year <= self.start.year <= last_year:
            yield Span(self.start, self.end, str(self.start.year))

    def describe(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"


# The Gregorian calendar repeats exactly every 400 years (146,097 days, 20,871 weeks).
_CYCLE_YEARS = 400
# Most days a recurrence may put in one expansion (a daily rule over a few years is ~2,000).
MAX_RECURRENCE_DAYS = 20_000


class RecurrenceError(LichnhacError, ValueError):
    """A recurrence rule cannot be expanded within bounds (named by the caller)."""


@dataclass(frozen=True)
class Recurrence:
    """An RFC 5545 RRULE, anchored at `anchor` (its DTSTART), each occurrence one day.

    Expansion is bounded whatever the rule: dateutil looks for the next occurrence up to
    the year 9999, so a rule with no occurrence after the window (say February 30th) would
    scan thousands of years. The whole problem is translated forward by whole 400-year
    cycles (every date property, weekdays and leap years included, repeats) so that at
    most one cycle lies between the window and 9999; and no more than
    `MAX_RECURRENCE_DAYS` days are taken from one expansion.
    """

    rule: str
    anchor: date

    def _shifted(self, last_year: int) -> tuple[Any, int]:
        """The rule translated by `shift` years (a multiple of 400), and `shift`."""
        shift = max(0, (9998 - last_year) // _CYCLE_YEARS) * _CYCLE_YEARS
        start = datetime(self.anchor.year + shift, self.anchor.month, self.anchor.day)  # noqa: DTZ001 - rrule works on naive dates; only the date part is used
        rule: Any = rrulestr(self.rule, dtstart=start)
        interval = getattr(rule, "_interval", 1)
        if not isinstance(interval, int) or interval < 1:
            raise RecurrenceError(_("rrule {rule}: INTERVAL must be 1 or more")
                                  .format(rule=repr(self.rule)))
        until = getattr(rule, "_until", None)
        if until is not None and shift:
            try:
                rule = rule.replace(until=until.replace(year=until.year + shift))
            except ValueError:  # an UNTIL past 9999 once shifted: no end within reach
                rule = rule.replace(until=None)
        return rule, shift

    def spans(self, first_year: int, last_year: int) -> Iterator[Span]:
        first_year, last_year = max(first_year, 1), min(last_year, 9999 - _CYCLE_YEARS)
        if first_year > last_year:
            return
        rule, shift = self._shifted(last_year)
        low = datetime(max(first_year, self.anchor.year) + shift, 1, 1)  # noqa: DTZ001
        high = datetime(last_year + shift, 12, 31, 23, 59, 59)  # noqa: DTZ001
        if low > high:
            return
        seen: set[date] = set()
        for moment in rule.xafter(low, inc=True):
            if moment > high:
                break
            day = moment.date().replace(year=moment.year - shift)
            if day in seen:
                continue
            seen.add(day)
            if len(seen) > MAX_RECURRENCE_DAYS:
                raise RecurrenceError(
                    _("rrule {rule} gives more than {limit} days in {first}-{last}").format(
                        rule=repr(self.rule), limit=MAX_RECURRENCE_DAYS, first=first_year,
                        last=last_year))
            yield Span(day, day, day.isoformat())

    def first(self) -> date | None:
        """The first occurrence on or after the anchor (None: the rule never happens)."""
        rule, shift = self._shifted(self.anchor.year)
        start = datetime(self.anchor.year + shift, self.anchor.month, self.anchor.day)  # noqa: DTZ001
        moment = rule.after(start, inc=True)
        return None if moment is None else moment.date().replace(year=moment.year - shift)

    def describe(self) -> str:
        return self.rule


@dataclass(frozen=True)
class LunarYearly:
    """A yearly date of the Vietnamese lunar calendar (UTC+7), e.g. 10/3 for the Hùng Kings."""

    month: int
    day: int
    leap: bool = False

    def spans(self, first_year: int, last_year: int) -> Iterator[Span]:
        from scheduler.lunar import lunar_to_solar

        # Lunar year N mostly lies in solar year N; late lunar months spill into N + 1.
        for lunar_year in range(first_year - 1, last_year + 1):
            day = lunar_to_solar(lunar_year, self.month, self.day, self.leap)
            if day is not None and first_year <= day.year <= last_year:
                yield Span(day, day, str(lunar_year))

    def describe(self) -> str:
        leap = " (leap)" if self.leap else ""
        return f"lunar {self.month:02d}-{self.day:02d}{leap}"


@dataclass(frozen=True)
class Event:
    """One calendar entry definition as read from a calendar file."""

    id: str
    title: str
    kind: Kind
    rule: DateRule
    units: tuple[str, ...]
    basis: str = ""
    report_to: str | None = None
    description: str = ""
    url: str = ""
    lead_days: tuple[int, ...] | None = None
    file: str = ""
    line: int = 0
    revision: str = field(default="", compare=False)

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Occurrence:
    """One event in one year (or one RRULE instance), with its units resolved to ids."""

    event: Event
    start: date
    end: date
    units: tuple[str, ...]
    key: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

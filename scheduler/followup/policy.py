"""Follow-up policy, pure: which occurrences need a confirmation, from whom, by when, and
which working days after the due day count as overdue.

- An occurrence needs a confirmation when `[followup]` is enabled and its event is in
  `include_events`, or its kind is in `kinds` (deadlines by default) and it is not in
  `exclude_events`.
- Its *due day* is its last day (a deadline's date; a campaign's or month's end).
- Its *coordinator* is the event's `report_to`, else the config's `coordinator`; the
  responsible units are the occurrence's units except that coordinator (it does not
  report to itself).
- *Overdue days* count working days strictly after the due day up to today.
- A confirm link expires `link_valid_days` after the last overdue reminder day.
"""

from __future__ import annotations

from datetime import date, timedelta

from scheduler.config import Config
from scheduler.errors import Problem
from scheduler.i18n import _
from scheduler.model import Event, Occurrence
from scheduler.occurrences import occurrences
from scheduler.workdays import WorkingDays

# Overdue days are at most 60 working days: about three months of calendar days.
_MAX_OVERDUE_SPAN = 100


def needs_confirmation(config: Config, event: Event) -> bool:
    """Whether occurrences of `event` ask their units to confirm the report was sent."""
    policy = config.followup
    if not policy.enabled or event.id in policy.exclude_events:
        return False
    return event.id in policy.include_events or event.kind in policy.kinds


def coordinator_warnings(config: Config) -> list[Problem]:
    """A followed event with nobody to report to: its units get confirm links, but no one
    gets the escalations, the weekly summary or a register. `check` says so."""
    if not config.followup.enabled or config.coordinator is not None:
        return []
    return [Problem(event.file, event.line,
                    _('event "{id}": follow-up asks its units to confirm, but it has no '
                      "report_to and the config names no coordinator: nobody is told who "
                      "has not confirmed").format(id=event.id), "warning")
            for event in config.events
            if event.report_to is None and needs_confirmation(config, event)]


def due_day(occurrence: Occurrence) -> date:
    """The day the report is due: the occurrence's last day."""
    return occurrence.end


def coordinator_of(config: Config, event: Event) -> str | None:
    """The unit reports of `event` go to: its `report_to`, else the config's coordinator."""
    return event.report_to or config.coordinator


def responsible_units(config: Config, occurrence: Occurrence) -> tuple[str, ...]:
    """The units that must confirm `occurrence` (its coordinator excluded)."""
    coordinator = coordinator_of(config, occurrence.event)
    return tuple(u for u in occurrence.units if u != coordinator)


def working_day_after(day: date, n: int, workdays: WorkingDays) -> date:
    """The `n`-th working day strictly after `day` (n >= 1)."""
    found = 0
    current = day
    while found < n:
        current += timedelta(days=1)
        if workdays.is_working_day(current):
            found += 1
    return current


def overdue_working_days(due: date, today: date, workdays: WorkingDays) -> int:
    """Working days d with due < d <= today (0 when not yet past due)."""
    if today <= due:
        return 0
    return sum(1 for offset in range(1, (today - due).days + 1)
               if workdays.is_working_day(due + timedelta(days=offset)))


def overdue_send_days(config: Config, due: date,
                      workdays: WorkingDays) -> list[tuple[int, date]]:
    """(n, day) for each configured overdue day n: the n-th working day after `due`."""
    return [(n, working_day_after(due, n, workdays)) for n in config.followup.overdue_days]


def link_expiry(config: Config, due: date, workdays: WorkingDays) -> date:
    """The last day a confirm link for an occurrence due on `due` is accepted."""
    last = max(config.followup.overdue_days, default=0)
    end = working_day_after(due, last, workdays) if last else due
    return end + timedelta(days=config.followup.link_valid_days)


def lookback_days(config: Config) -> int:
    """How far before a window an occurrence can be due and still have an overdue day in it."""
    if not config.followup.enabled or not config.followup.overdue_days:
        return 0
    return min(_MAX_OVERDUE_SPAN * 3, max(config.followup.overdue_days) * 2 + 30)


def followed_occurrences(config: Config, start: date, end: date,
                         event: str | None = None, unit: str | None = None,
                         ) -> list[Occurrence]:
    """Occurrences needing a confirmation whose due day lies in [start, end]."""
    events = [e for e in config.events
              if needs_confirmation(config, e) and (event is None or e.id == event)]
    found = [o for o in occurrences(events, start, end, config.groups(), unit=unit)
             if start <= due_day(o) <= end]
    found.sort(key=lambda o: (due_day(o), o.event.id))
    return found

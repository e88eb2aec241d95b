"""The coordinator's optional weekly summary, pure: deadlines of the next two weeks and
the overdue ones.

With `[followup] weekly_summary = "<weekday>"`, each coordinator (an event's `report_to`,
else `coordinator`) with an email gets one email a week at the reminders' send time on
that weekday. When that weekday is not a working day the summary goes on the next working
day of the same week (the coordinator wants it at the start of the week, so a Monday
holiday moves it to Tuesday, not to the Friday before); a week with no working day from
that weekday to the day before the next one gets none. A coordinator with nothing to list
gets no email.

It lists, per coordinator:

- the occurrences needing a confirmation due in the next 14 days (the send day and the 13
  after it), each with how many of its units have confirmed so far;
- the overdue ones: due before the send day and whose confirm links still work
  (`policy.link_expiry`), with the units that have not confirmed.

Planned into the ledger like reminders and escalations (key
`<send day>/<coordinator>/tong-hop-tuan`, rows `summary:<coordinator>/<send day>/
<occurrence key>`), so it is sent once across restarts; confirmations are taken at
sending time (`escalation.without_confirmed` drops overdue units and occurrences that
confirmed since; the renderer counts the confirmed units of the upcoming ones).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta

from scheduler.config import Config
from scheduler.followup.policy import (
    coordinator_of,
    due_day,
    followed_occurrences,
    link_expiry,
    overdue_working_days,
    responsible_units,
)
from scheduler.model import Occurrence
from scheduler.reminders import Digest, ReminderItem

SUMMARY = "summary"
DIGEST_SUFFIX = "/tong-hop-tuan"
HORIZON_DAYS = 14


def summary_subject(items: tuple[ReminderItem, ...]) -> str:
    """`[Tổng hợp tuần] 2 việc đến hạn trong 2 tuần tới, 1 việc quá hạn chưa đủ xác nhận`
    (not every followed deadline is a report: each item says what it is in the body)."""
    upcoming = sum(1 for item in items if not item.overdue_days)
    overdue = len(items) - upcoming
    parts = []
    if upcoming:
        parts.append(f"{upcoming} việc đến hạn trong 2 tuần tới")
    if overdue:
        parts.append(f"{overdue} việc quá hạn chưa đủ xác nhận")
    return "[Tổng hợp tuần] " + ", ".join(parts)


def summary_days(config: Config, start: date, end: date) -> list[date]:
    """The days in [start, end] on which the weekly summary goes out (see the module)."""
    weekday = config.followup.weekly_summary
    if end < start or weekday is None or not config.followup.enabled:
        return []
    workdays = config.workdays()
    first = start - timedelta(days=6)
    anchor = first + timedelta(days=(weekday - first.weekday()) % 7)
    days = []
    while anchor <= end:
        for offset in range(7):
            day = anchor + timedelta(days=offset)
            if workdays.is_working_day(day):
                if start <= day <= end:
                    days.append(day)
                break
        anchor += timedelta(days=7)
    return days


def _lookback(config: Config) -> timedelta:
    """How far before a send day an occurrence can be due and still be listed overdue."""
    policy = config.followup
    return timedelta(days=max(policy.overdue_days, default=0) * 2 + 30
                     + policy.link_valid_days)


def _followed(config: Config, start: date, end: date) -> list[tuple[str, Occurrence]]:
    """(coordinator, occurrence with its responsible units) of every occurrence a summary
    sent in [start, end] may list, built once for the window."""
    found = []
    for occ in followed_occurrences(config, start - _lookback(config),
                                    end + timedelta(days=HORIZON_DAYS - 1)):
        coordinator = coordinator_of(config, occ.event)
        units = responsible_units(config, occ) if coordinator is not None else ()
        if coordinator is not None and units:
            found.append((coordinator, replace(occ, units=units)))
    return found


def _items(config: Config, day: date, followed: list[tuple[str, Occurrence]],
           ) -> Iterator[tuple[str, ReminderItem]]:
    """(coordinator, item) of the summaries sent on `day`."""
    workdays = config.workdays()
    horizon = day + timedelta(days=HORIZON_DAYS - 1)
    for coordinator, occ in followed:
        due = due_day(occ)
        if due > horizon:
            continue
        if due >= day:
            overdue = 0
        elif day <= link_expiry(config, due, workdays):
            overdue = max(1, overdue_working_days(due, day, workdays))
        else:
            continue
        yield coordinator, ReminderItem(
            occurrence=occ, lead_days=(due - day).days if not overdue else -overdue,
            key=f"{SUMMARY}:{coordinator}/{day.isoformat()}/{occ.key}", target=due,
            overdue_days=overdue)


def summary_digests(config: Config, start: date, end: date) -> list[Digest]:
    """One digest per (summary day in [start, end], coordinator with an email and
    something to list)."""
    days = summary_days(config, start, end)
    followed = _followed(config, days[0], days[-1]) if days else []
    digests = []
    for day in days:
        grouped: dict[str, list[ReminderItem]] = defaultdict(list)
        for coordinator, item in _items(config, day, followed):
            grouped[coordinator].append(item)
        for coordinator, items in grouped.items():
            unit = config.unit(coordinator)
            if unit is None or not unit.emails:
                continue
            # Overdue first (oldest first), then the coming deadlines by due day.
            items.sort(key=lambda i: (not i.overdue_days, i.target, i.occurrence.key))
            digests.append(Digest(
                key=f"{day.isoformat()}/{coordinator}{DIGEST_SUFFIX}",
                send_at=datetime.combine(day, config.reminders.send_time,
                                         tzinfo=config.timezone),
                unit=coordinator, unit_name=unit.name, to=unit.emails,
                subject=summary_subject(tuple(items)), items=tuple(items), kind=SUMMARY))
    digests.sort(key=lambda d: (d.send_at, d.unit))
    return digests

"""The coordinator's escalation digests and the confirmed-units filter, pure.

On each overdue day N of an occurrence (N-th working day after its due day, see
`policy`), its coordinator gets one email per send day listing, per overdue occurrence,
the units that have not confirmed. These digests are planned into the ledger like
reminders (key `<send day>/<coordinator>/qua-han`, rows `escalation:<coordinator>/
<occurrence key>/-N`), so they are sent once across restarts; the list of units is taken
at sending time (`without_confirmed`), so it is exactly the units still not confirmed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import replace
from datetime import date, datetime, timedelta

from scheduler.config import Config
from scheduler.followup.policy import (
    coordinator_of,
    due_day,
    followed_occurrences,
    lookback_days,
    overdue_send_days,
    responsible_units,
)
from scheduler.followup.summary import SUMMARY, summary_digests, summary_subject
from scheduler.reminders import Digest, ReminderItem

ESCALATION = "escalation"
DIGEST_SUFFIX = "/qua-han"

# (unit, event id, due day): what a confirmation is keyed by.
ConfirmedKey = tuple[str, str, date]


def escalation_subject(items: tuple[ReminderItem, ...]) -> str:
    """`[Theo dõi báo cáo] 3 đơn vị chưa xác nhận đã gửi báo cáo: <title> (và 1 hạn khác)`."""
    pending = sum(len(item.occurrence.units) for item in items)
    first = items[0].occurrence.event.title
    subject = f"[Theo dõi báo cáo] {pending} đơn vị chưa xác nhận đã gửi báo cáo: {first}"
    if len(items) > 1:
        subject += f" (và {len(items) - 1} hạn khác)"
    return subject


def escalation_digests(config: Config, start: date, end: date) -> list[Digest]:
    """One digest per (send day in [start, end], coordinator with an email)."""
    policy = config.followup
    if end < start or not (policy.enabled and policy.escalate and policy.overdue_days):
        return []
    workdays = config.workdays()
    back = timedelta(days=lookback_days(config))
    grouped: dict[tuple[date, str], list[ReminderItem]] = defaultdict(list)
    for occ in followed_occurrences(config, start - back, end):
        coordinator = coordinator_of(config, occ.event)
        if coordinator is None:
            continue
        units = responsible_units(config, occ)
        if not units:
            continue
        for n, day in overdue_send_days(config, due_day(occ), workdays):
            if start <= day <= end:
                grouped[(day, coordinator)].append(ReminderItem(
                    occurrence=replace(occ, units=units), lead_days=-n,
                    key=f"{ESCALATION}:{coordinator}/{occ.key}/-{n}", target=due_day(occ),
                    overdue_days=n))
    digests = []
    for (day, coordinator), items in grouped.items():
        unit = config.unit(coordinator)
        if unit is None or not unit.emails:
            continue
        items.sort(key=lambda i: (i.target, i.occurrence.key))
        digests.append(Digest(
            key=f"{day.isoformat()}/{coordinator}{DIGEST_SUFFIX}",
            send_at=datetime.combine(day, config.reminders.send_time, tzinfo=config.timezone),
            unit=coordinator, unit_name=unit.name, to=unit.emails,
            subject=escalation_subject(tuple(items)), items=tuple(items), kind=ESCALATION))
    digests.sort(key=lambda d: (d.send_at, d.unit))
    return digests


def without_confirmed(digest: Digest, confirmed: Collection[ConfirmedKey]) -> Digest | None:
    """`digest` without what confirmations settled (None: nothing left to send).

    A unit's reminder loses the items of occurrences it confirmed; an escalation lists
    only the units that have not confirmed, and loses occurrences all units confirmed; a
    weekly summary loses the overdue occurrences all units confirmed (its renderer counts
    the confirmed units of the rest).
    """
    if not confirmed:
        return digest
    items: list[ReminderItem] = []
    for item in digest.items:
        occ = item.occurrence
        due = due_day(occ)
        if digest.kind == SUMMARY:
            if not item.overdue_days or any((u, occ.event.id, due) not in confirmed
                                            for u in occ.units):
                items.append(item)
        elif digest.kind == ESCALATION:
            pending = tuple(u for u in occ.units if (u, occ.event.id, due) not in confirmed)
            if pending:
                items.append(replace(item, occurrence=replace(occ, units=pending)))
        elif (digest.unit, occ.event.id, due) not in confirmed:
            items.append(item)
    if not items:
        return None
    if len(items) == len(digest.items) and digest.kind != ESCALATION:
        return digest
    kept = tuple(items)
    if digest.kind == ESCALATION:
        return replace(digest, items=kept, subject=escalation_subject(kept))
    if digest.kind == SUMMARY:
        return replace(digest, items=kept, subject=summary_subject(kept))
    return replace(digest, items=kept)


# A day's emails to one unit: its reminder, then its escalation, then its weekly summary.
KIND_ORDER = {ESCALATION: 1, SUMMARY: 2}


def coordinator_digests(config: Config, start: date, end: date) -> list[Digest]:
    """The coordinators' emails of [start, end]: escalations and weekly summaries."""
    digests = escalation_digests(config, start, end) + summary_digests(config, start, end)
    digests.sort(key=lambda d: (d.send_at, d.unit, KIND_ORDER.get(d.kind, 0)))
    return digests


def with_coordinator_digests(config: Config, digests: list[Digest], start: date, end: date,
                             unit: str | None = None) -> list[Digest]:
    """`digests` plus the coordinators' emails of [start, end] (of `unit` only, if given),
    in the plan's order: send time, then unit order in config, then reminder, escalation,
    weekly summary."""
    extra = [d for d in coordinator_digests(config, start, end)
             if unit is None or d.unit == unit]
    if not extra:
        return digests
    order = {u.id: index for index, u in enumerate(config.units)}
    merged = digests + extra
    merged.sort(key=lambda d: (d.send_at, order.get(d.unit, len(order)), d.unit,
                               KIND_ORDER.get(d.kind, 0)))
    return merged

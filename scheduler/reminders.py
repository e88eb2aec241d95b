"""Reminder planning: which unit gets which email, when. Pure: config + window in, digests out.

A *reminder* is one (unit, occurrence, lead) — its key is `<unit>/<occurrence.key>/<lead>`.
A *digest* is one email: every reminder due for one unit at one send time, keyed
`<send-date>/<unit-id>`.

Rules, in order:

1. The *target day* of an occurrence is its first day. A deadline whose day is not a
   working day is reminded against the last working day before it (`moved_from` keeps
   the written date, so the email can say why): "trước ngày X" on a Sunday means Friday
   for a careful officer (DOMAIN.md).
2. Each lead `n` (the event's own `lead_days`, else its kind's) gives the send day
   `target - n days`; a send day that is not a working day moves to the previous working
   day. Send time is `[reminders] send_time` in the deployment's timezone.
3. **Collapsed leads.** When several leads of the same occurrence land on the same send
   day (lead 1 and lead 3 both moved to Friday), the item is listed once, under the
   smallest of those leads; the other leads are not planned at all, so they never reach
   the ledger and never count as missed.
4. Units without an email address get no reminders.
5. **Overdue items** (follow-up): an occurrence that needs a confirmation
   (`scheduler.followup.policy`) is listed again, as "Quá hạn N ngày", on each
   `[followup] overdue_days` N-th working day after its due day, to its responsible units
   (lead `-N`, key `<unit>/<occurrence.key>/-N`). `delivery` drops the items of units
   that have confirmed.

`plan_reminders(config, start, end, unit)` returns the digests whose send day lies in
[start, end], sorted by (send time, unit order in config); `iter_digests` yields the same
one at a time, and `Planner` one send day at a time with the work shared between units
that get the same reminders (what `plan` streams); `send_days(config, start, end)` only
the days, without building a digest (cheap at national scale). The plan's subject is the
on-time one; `delivery` rebuilds it with "Nhắc muộn" when it sends late.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from scheduler.config import Config
from scheduler.followup.policy import (
    due_day,
    lookback_days,
    needs_confirmation,
    overdue_send_days,
    responsible_units,
)
from scheduler.model import Occurrence, Unit
from scheduler.occurrences import occurrences
from scheduler.workdays import WorkingDays

# How far back a weekend/holiday can push a send day (Tết plus weekends stays well below).
_SHIFT_SLACK_DAYS = 30


@dataclass(frozen=True)
class ReminderItem:
    """One occurrence listed in a digest."""

    occurrence: Occurrence
    lead_days: int
    key: str                     # "<unit>/<occurrence.key>/<lead>": the ledger's row key
    target: date                 # the day reminded against (a moved deadline: the day before)
    moved_from: date | None = None  # the written deadline day, when it is not a working day
    late: bool = False           # set by delivery when sent after its planned day
    overdue_days: int = 0        # > 0: an overdue item, N working days past its due day

    def days_left(self, on: date) -> int:
        """Calendar days from `on` to the target day (0: today)."""
        return (self.target - on).days


@dataclass(frozen=True)
class Digest:
    """One email to one unit at one send time."""

    key: str                     # "<send-date>/<unit-id>", stable across runs
    send_at: datetime            # aware, in the deployment's timezone
    unit: str                    # unit id
    unit_name: str
    to: tuple[str, ...]
    subject: str
    items: tuple[ReminderItem, ...]
    kind: str = "reminder"       # "reminder" | "escalation" (to the coordinator, follow-up)

    @property
    def late(self) -> bool:
        return any(item.late for item in self.items)


def countdown(days_left: int, late: bool = False) -> str:
    """The subject's countdown: "Còn 7 ngày", "Hôm nay", "Nhắc muộn"."""
    if late:
        return "Nhắc muộn"
    if days_left <= 0:
        return "Hôm nay"
    return f"Còn {days_left} ngày"


def digest_subject(items: tuple[ReminderItem, ...], on: date, late: bool = False) -> str:
    """`[Nhắc việc] Còn 7 ngày: <title> (và 2 việc khác)`: the most urgent item first."""
    first = min(items, key=lambda i: (i.days_left(on), i.occurrence.start, i.occurrence.key))
    label = countdown(first.days_left(on), late)
    if first.overdue_days and not late:
        label = f"Quá hạn {first.overdue_days} ngày"
    subject = f"[Nhắc việc] {label}: {first.occurrence.event.title}"
    if len(items) > 1:
        subject += f" (và {len(items) - 1} việc khác)"
    return subject


def target_day(occurrence: Occurrence, workdays: WorkingDays) -> tuple[date, date | None]:
    """The day a reminder counts down to, and the written day if a deadline was moved."""
    if occurrence.event.kind == "deadline" and not workdays.is_working_day(occurrence.start):
        return workdays.previous_working_day(occurrence.start), occurrence.start
    return occurrence.start, None


@dataclass(frozen=True)
class _Lead:
    """A (occurrence, lead) that lands on `send_day`: the same for every unit of it."""

    occurrence: Occurrence
    lead_days: int
    send_day: date
    target: date
    moved_from: date | None
    overdue_days: int = 0


def _leads(config: Config, occs: list[Occurrence], start: date, end: date,
           workdays: WorkingDays) -> list[_Lead]:
    found: list[_Lead] = []
    for occ in occs:
        target, moved_from = target_day(occ, workdays)
        by_day: dict[date, int] = {}
        for lead in config.reminders.leads_for(occ.event):
            send_day = workdays.on_or_before(target - timedelta(days=lead))
            if start <= send_day <= end:
                # Collapsed leads: keep the smallest lead for one send day.
                by_day[send_day] = min(lead, by_day.get(send_day, lead))
        found.extend(_Lead(occ, lead, day, target, moved_from) for day, lead in by_day.items())
        if needs_confirmation(config, occ.event):
            units = responsible_units(config, occ)
            for n, day in overdue_send_days(config, due_day(occ), workdays):
                if start <= day <= end:
                    found.append(_Lead(replace(occ, units=units), -n, day, target,
                                       moved_from, overdue_days=n))
    return found


def _window_leads(config: Config, start: date, end: date, unit: str | None) -> list[_Lead]:
    """Every (occurrence, lead) whose send day lies in [start, end]."""
    longest = max((lead for leads in config.reminders.lead_days.values() for lead in leads),
                  default=0)
    longest = max([longest, *(max(e.lead_days, default=0) for e in config.events
                              if e.lead_days is not None)])
    horizon = end + timedelta(days=longest + _SHIFT_SLACK_DAYS)
    occs = occurrences(config.events, start - timedelta(days=lookback_days(config)), horizon,
                       config.groups(), unit=unit)
    return _leads(config, occs, start, end, config.workdays())


def send_days(config: Config, start: date, end: date) -> list[date]:
    """The days in [start, end] on which some digest goes out, sorted.

    Cheap (no digest is built): the daemon asks it for its next wake-up.
    """
    if end < start:
        return []
    emailed = {u.id for u in config.units if u.emails}
    return sorted({lead.send_day for lead in _window_leads(config, start, end, None)
                   if any(uid in emailed for uid in lead.occurrence.units)})


def plan_reminders(config: Config, start: date, end: date,
                   unit: str | None = None) -> list[Digest]:
    """Every digest whose send day lies in [start, end] (inclusive), sorted by send time."""
    return list(iter_digests(config, start, end, unit))


def iter_digests(config: Config, start: date, end: date,
                 unit: str | None = None) -> Iterator[Digest]:
    """`plan_reminders`, one digest at a time: memory stays at one send day's worth."""
    for day in Planner(config, start, end, unit).planned_days():
        for recipient, batch in day.digests:
            items = tuple(
                ReminderItem(occurrence=x.occurrence, lead_days=x.lead_days,
                             key=f"{recipient.id}/{x.occurrence.key}/{x.lead_days}",
                             target=x.target, moved_from=x.moved_from,
                             overdue_days=x.overdue_days)
                for x in batch.leads)
            yield Digest(key=f"{day.send_day.isoformat()}/{recipient.id}",
                         send_at=day.send_at, unit=recipient.id, unit_name=recipient.name,
                         to=recipient.emails, subject=batch.subject, items=items)


@dataclass(frozen=True)
class Batch:
    """What the digests of one send day share when their units get the same reminders:
    the sorted (occurrence, lead)s and the subject. Only the unit differs between them."""

    leads: tuple[_Lead, ...]
    subject: str


@dataclass(frozen=True)
class Partition:
    """The emailed units concerned by a set of unit tuples, in config order, each with the
    index of its class (the units concerned by the same tuples) and each class's bitmask
    over that set."""

    units: list[Unit]
    classes: list[int]
    masks: list[int]


@dataclass(frozen=True)
class PlannedDay:
    """One send day of the plan: `units[i]` gets `batches[classes[i]]`, in config order."""

    send_day: date
    send_at: datetime
    units: list[Unit]
    classes: list[int]
    batches: list[Batch]

    @property
    def digests(self) -> Iterator[tuple[Unit, Batch]]:
        """(unit, batch) of every digest of the day, in config order."""
        batches = self.batches
        return ((unit, batches[c]) for unit, c in zip(self.units, self.classes, strict=True))


class Planner:
    """The plan of a window, grouped so that units with the same reminders share the work.

    Every occurrence of one event concerns the same unit tuple, so on one send day the
    units fall into a few classes: those concerned by the same set of unit tuples get the
    same leads. The partition of units into classes depends only on which unit tuples are
    due that day, so it is computed once per such combination, not once per day; per day
    only each class's leads and subject are worked out.
    """

    _PARTITIONS = 64  # combinations kept; a national year has a handful

    def __init__(self, config: Config, start: date, end: date, unit: str | None) -> None:
        self.config = config
        self.unit = unit
        self.send_time = config.reminders.send_time
        self.tz = config.timezone
        self.by_day: dict[date, list[_Lead]] = defaultdict(list)
        self.canon: dict[int, int] = {}
        self.tuples: list[tuple[str, ...]] = []
        self.partitions: dict[tuple[int, ...], Partition] = {}
        if end < start:
            return
        seen: dict[tuple[str, ...], int] = {}
        for lead in _window_leads(config, start, end, unit):
            units = lead.occurrence.units
            if id(units) not in self.canon:
                index = seen.setdefault(units, len(seen))
                if index == len(self.tuples):
                    self.tuples.append(units)
                self.canon[id(units)] = index
            self.by_day[lead.send_day].append(lead)

    def days(self) -> list[date]:
        """The send days with at least one lead (a day may still have no emailed unit)."""
        return sorted(self.by_day)

    def planned_days(self) -> Iterator[PlannedDay]:
        """Each send day's digests, in order; days without any are skipped."""
        for day in self.days():
            planned = self.day(day)
            if planned.units:
                yield planned

    def combination(self, day: date) -> tuple[int, ...]:
        """The (canonical) unit tuples with a lead on `day`."""
        return tuple(sorted({self.canon[id(x.occurrence.units)] for x in self.by_day[day]}))

    def partition(self, combination: tuple[int, ...]) -> Partition:
        """Emailed units concerned by `combination`, in config order, and their classes."""
        found = self.partitions.get(combination)
        if found is not None:
            return found
        masks: dict[str, int] = {}
        for bit, index in enumerate(combination):
            flag = 1 << bit
            for uid in self.tuples[index]:
                masks[uid] = masks.get(uid, 0) | flag
        class_of: dict[int, int] = {}
        found = Partition([], [], [])
        candidates = [u for u in self.config.units if self.unit is None or u.id == self.unit]
        for recipient in candidates:
            mask = masks.get(recipient.id)
            if mask is None or not recipient.emails:
                continue
            known = class_of.get(mask)
            if known is None:
                known = class_of[mask] = len(found.masks)
                found.masks.append(mask)
            found.units.append(recipient)
            found.classes.append(known)
        if len(self.partitions) >= self._PARTITIONS:
            self.partitions.pop(next(iter(self.partitions)))
        self.partitions[combination] = found
        return found

    def day(self, day: date) -> PlannedDay:
        """The digests of one send day, units in config order."""
        combination = self.combination(day)
        bits = {index: 1 << bit for bit, index in enumerate(combination)}
        leads = sorted(self.by_day[day],
                       key=lambda x: (x.target, x.occurrence.start, x.occurrence.key))
        flags = [bits[self.canon[id(x.occurrence.units)]] for x in leads]
        partition = self.partition(combination)
        batches = []
        for mask in partition.masks:
            chosen = tuple(x for x, flag in zip(leads, flags, strict=True) if flag & mask)
            subject = digest_subject(tuple(
                ReminderItem(occurrence=x.occurrence, lead_days=x.lead_days, key="",
                             target=x.target, moved_from=x.moved_from,
                             overdue_days=x.overdue_days) for x in chosen), day)
            batches.append(Batch(chosen, subject))
        send_at = datetime.combine(day, self.send_time, tzinfo=self.tz)
        return PlannedDay(day, send_at, partition.units, partition.classes, batches)

    def widths(self) -> tuple[int, int, int]:
        """(longest weekday-date, longest unit id, most items) over every digest, without
        building any: the table's columns are padded to them."""
        from scheduler import vi

        date_width = unit_width = items_width = 0
        class_widths: dict[tuple[int, ...], list[int]] = {}
        for day in self.days():
            combination = self.combination(day)
            per_class = class_widths.get(combination)
            if per_class is None:
                partition = self.partition(combination)
                per_class = [0] * len(partition.masks)
                for recipient, index in zip(partition.units, partition.classes, strict=True):
                    per_class[index] = max(per_class[index], len(recipient.id))
                class_widths[combination] = per_class
            if not per_class:
                continue
            counts: dict[int, int] = defaultdict(int)
            for x in self.by_day[day]:
                counts[combination.index(self.canon[id(x.occurrence.units)])] += 1
            date_width = max(date_width, len(vi.dated_with_weekday(day)))
            masks = self.partition(combination).masks
            for index, width in enumerate(per_class):
                unit_width = max(unit_width, width)
                items = sum(n for bit, n in counts.items() if masks[index] >> bit & 1)
                items_width = max(items_width, items)
        return date_width, unit_width, items_width


def plan_days(config: Config, start: date, end: date,
              unit: str | None = None) -> Iterator[PlannedDay]:
    """The plan of [start, end] one send day at a time, in order (see `Planner`)."""
    return Planner(config, start, end, unit).planned_days()


def plan_json(digests: list[Digest]) -> list[dict[str, object]]:
    """DESIGN.md's `plan --format json` objects."""
    return [
        {
            "key": d.key,
            "send_at": d.send_at.isoformat(),
            "unit": d.unit,
            "to": list(d.to),
            "subject": d.subject,
            "items": [{"event": i.occurrence.event.id, "start": i.occurrence.start.isoformat(),
                       "lead_days": i.lead_days} for i in d.items],
        }
        for d in digests
    ]

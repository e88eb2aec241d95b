"""`lichnhac plan`: the reminder emails a window would send, as a table or DESIGN.md's JSON.

Streamed: each send day's lines are written as soon as that day is planned, so a year at
national scale (~1.2 million reminders) never sits in memory as a list. The output is
byte for byte what formatting the whole list at once gave (`render_table`, `plan_json`
through `json.dump(indent=2)`): the table's columns are padded to widths counted in a
first pass that builds no digest, and each JSON object is assembled from pieces rendered
once per unit, per day and per group of units with the same reminders.

With follow-up on, the coordinators' emails are listed too: escalations
(`scheduler.followup.escalation`; items with negative `lead_days`, `-N` for the N-th
working day after the due day) and weekly summaries (`scheduler.followup.summary`; items
with the days left to the due day, or `-N` for an overdue one), each at its place in its
day (send time, unit order in config, a unit's reminder, then escalation, then summary) —
exactly what `with_coordinator_digests` adds to `plan_reminders`.
"""

from __future__ import annotations

import argparse
import json
import sys
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date

from scheduler import vi
from scheduler.commands import clock_for, load, window
from scheduler.config import Config
from scheduler.converters import did_you_mean
from scheduler.errors import UsageError
from scheduler.followup.escalation import KIND_ORDER, coordinator_digests
from scheduler.i18n import N_, _, ngettext
from scheduler.model import Unit
from scheduler.reminders import Batch, Digest, PlannedDay, Planner, plan_json

# English msgids, translated where printed (`_header()`, `_(EMPTY)`).
HEADER = (N_("Send day"), N_("Time"), N_("Unit"), N_("Items"), N_("Subject"))
EMPTY = N_("(no reminder emails in this window)")


def _header() -> tuple[str, ...]:
    return tuple(_(name) for name in HEADER)


def _count(count: int) -> str:
    return ngettext("{count} reminder email", "{count} reminder emails", count).format(
        count=count)


def render_table(digests: list[Digest]) -> str:
    """The whole table of a list of digests (the streamed `plan` prints the same)."""
    rows = [_header()]
    for d in digests:
        rows.append((vi.dated_with_weekday(d.send_at.date()), d.send_at.strftime("%H:%M"),
                     d.unit, str(len(d.items)), d.subject))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join([*(row[i].ljust(widths[i]) for i in range(4)), row[4]]).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    if not digests:
        lines.append(_(EMPTY))
    else:
        lines.append(_count(len(digests)))
    return "\n".join(lines)


CHUNK = 2048  # digests per write: a national send day is ~33,000


def _slices(count: int) -> Iterator[slice]:
    return (slice(start, start + CHUNK) for start in range(0, count, CHUNK))


class CoordinatorDigests:
    """The window's coordinator digests (escalations and weekly summaries) by send day
    (few: one per coordinator and overdue day or week), and where each goes among a day's
    reminder digests."""

    def __init__(self, config: Config, start: date, end: date, unit: str | None) -> None:
        self.order = {u.id: index for index, u in enumerate(config.units)}
        self.by_day: dict[date, list[Digest]] = defaultdict(list)
        for digest in coordinator_digests(config, start, end):
            if unit is None or digest.unit == unit:
                self.by_day[digest.send_at.date()].append(digest)

    def __iter__(self) -> Iterator[Digest]:
        return (d for day in sorted(self.by_day) for d in self.by_day[day])

    def days(self, planner: Planner) -> Iterator[tuple[date, PlannedDay | None]]:
        """Every day with reminder or coordinator digests, in order (None: coordinator
        digests only)."""
        pending = sorted(self.by_day)
        for day in planner.planned_days():
            while pending and pending[0] < day.send_day:
                yield pending.pop(0), None
            if pending and pending[0] == day.send_day:
                pending.pop(0)
            yield day.send_day, day
        for extra in pending:
            yield extra, None

    def merged(self, day: date, units: list[Unit], rows: list[bytes],
               render: Callable[[Digest], bytes]) -> list[bytes]:
        """`rows` (one per unit of `units`, in config order) with the day's coordinator
        digests inserted where the plan's sort puts them (after the same unit's reminder,
        an escalation before a summary)."""
        extra = self.by_day.get(day)
        if not extra:
            return rows
        keys = [(self.order.get(u.id, len(self.order)), u.id) for u in units]
        merged = list(rows)
        for digest in sorted(extra, key=lambda d: (self.order.get(d.unit, len(self.order)),
                                                   d.unit, KIND_ORDER.get(d.kind, 0)),
                             reverse=True):
            at = bisect_right(keys, (self.order.get(digest.unit, len(self.order)), digest.unit))
            merged.insert(at, render(digest))
        return merged


def table_chunks(planner: Planner, coordinator: CoordinatorDigests) -> Iterator[bytes]:
    """`render_table`'s text plus a final newline, UTF-8, a few thousand lines at a time.

    Every piece is encoded once (per unit, per send day, per batch) and lines are joined
    as bytes: encoding 250 MB of text line by line would cost more than the planning.
    """
    date_width, unit_width, items_width = planner.widths()
    for extra in coordinator:
        date_width = max(date_width, len(vi.dated_with_weekday(extra.send_at.date())))
        unit_width = max(unit_width, len(extra.unit))
        items_width = max(items_width, len(extra.items))
    header = _header()
    widths = [max(len(header[0]), date_width), max(len(header[1]), 5 if date_width else 0),
              max(len(header[2]), unit_width), max(len(header[3]), len(str(items_width)))]
    yield ("  ".join([*(header[i].ljust(widths[i]) for i in range(4)), header[4]]).rstrip()
           + "\n" + "  ".join("-" * w for w in widths) + "  " + "-" * 7 + "\n").encode()
    padded: dict[str, bytes] = {}
    count = 0
    for send_day, day in coordinator.days(planner):
        clock = (day.send_at if day is not None else coordinator.by_day[send_day][0].send_at)
        prefix = (vi.dated_with_weekday(send_day).ljust(widths[0]) + "  "
                  + clock.strftime("%H:%M").ljust(widths[1]) + "  ")
        lead = prefix.encode()
        rows: list[bytes] = []
        if day is not None:
            tails = [(("  " + str(len(b.leads)).ljust(widths[3]) + "  " + b.subject).rstrip()
                      + "\n").encode() for b in day.batches]
            for unit, c in zip(day.units, day.classes, strict=True):
                name = padded.get(unit.id)
                if name is None:
                    name = padded[unit.id] = unit.id.ljust(widths[2]).encode()
                rows.append(b"".join((lead, name, tails[c])))
        def coordinator_row(digest: Digest, prefix: str = prefix) -> bytes:
            return ((prefix + digest.unit.ljust(widths[2]) + "  "
                     + str(len(digest.items)).ljust(widths[3]) + "  " + digest.subject).rstrip()
                    + "\n").encode()

        rows = coordinator.merged(send_day, day.units if day is not None else [], rows,
                                  coordinator_row)
        count += len(rows)
        for part in _slices(len(rows)):
            yield b"".join(rows[part])
    yield ((_count(count) if count else _(EMPTY)) + "\n").encode()


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _indented_list(values: list[str], indent: str) -> str:
    """A JSON list of strings as `json.dump(indent=2)` writes it at depth `indent`."""
    if not values:
        return "[]"
    inner = indent + "  "
    return "[\n" + ",\n".join(inner + _dumps(v) for v in values) + "\n" + indent + "]"


def _items_json(batch: Batch) -> str:
    items = ",\n".join(
        "      {\n"
        f'        "event": {_dumps(x.occurrence.event.id)},\n'
        f'        "start": {_dumps(x.occurrence.start.isoformat())},\n'
        f'        "lead_days": {_dumps(x.lead_days)}\n'
        "      }"
        for x in batch.leads)
    return f'    "items": [\n{items}\n    ]\n' if items else '    "items": []\n'


def _unit_json(recipient: Unit) -> tuple[bytes, bytes]:
    """(the key's unit part with its closing quote, the `unit` and `to` members)."""
    return (_dumps(recipient.id)[1:].encode(),
            (f'    "unit": {_dumps(recipient.id)},\n'
             f'    "to": {_indented_list(list(recipient.emails), "    ")},\n').encode())


def _digest_json(digest: Digest) -> bytes:
    """One digest as a member of the indented JSON list, with its leading separator."""
    text = json.dumps(plan_json([digest])[0], ensure_ascii=False, indent=2)
    return (",\n" + "\n".join("  " + line for line in text.splitlines())).encode()


def json_chunks(planner: Planner, coordinator: CoordinatorDigests) -> Iterator[bytes]:
    """`json.dump(plan_json(...), indent=2, ensure_ascii=False)` plus a newline, UTF-8, a
    few thousand digests at a time (pieces encoded once, as in `table_chunks`)."""
    first = True
    cached: dict[str, tuple[bytes, bytes]] = {}
    for send_day, day in coordinator.days(planner):
        rows: list[bytes] = []
        if day is not None:
            # ',\n  {\n    "key": "2026-06-10/' then the unit id: the key is one JSON string.
            head = (',\n  {\n    "key": '
                    + _dumps(day.send_day.isoformat() + "/")[:-1]).encode()
            send_at = f',\n    "send_at": {_dumps(day.send_at.isoformat())},\n'.encode()
            rests = [(f'    "subject": {_dumps(b.subject)},\n' + _items_json(b) + "  }").encode()
                     for b in day.batches]
            for unit, c in zip(day.units, day.classes, strict=True):
                member = cached.get(unit.id)
                if member is None:
                    member = cached[unit.id] = _unit_json(unit)
                rows.append(b"".join((head, member[0], send_at, member[1], rests[c])))
        rows = coordinator.merged(send_day, day.units if day is not None else [], rows,
                                  _digest_json)
        for part in _slices(len(rows)):
            chunk = b"".join(rows[part])
            if first:
                chunk = b"[" + chunk[1:]
                first = False
            yield chunk
    yield b"[]\n" if first else b"\n]\n"


def main(args: argparse.Namespace) -> int:
    config = load(args)
    start, end = window(args, clock_for(config))
    if args.unit is not None and config.unit(args.unit) is None:
        raise UsageError(_('--unit "{id}" is not a unit id').format(id=args.unit)
                         + did_you_mean(args.unit, (u.id for u in config.units)))
    planner = Planner(config, start, end, unit=args.unit)
    coordinator = CoordinatorDigests(config, start, end, args.unit)
    chunks = (json_chunks(planner, coordinator) if args.format == "json"
              else table_chunks(planner, coordinator))
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    for chunk in chunks:
        if out is not None:
            out.write(chunk)
        else:  # stdout replaced by a text stream (an embedding program, a test harness)
            sys.stdout.write(chunk.decode())
    (out or sys.stdout).flush()
    return 0

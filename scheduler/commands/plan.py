"""`lichnhac plan`: the reminder emails a window would send, as a table or DESIGN.md's JSON.

Streamed: each send day's lines are written as soon as that day is planned, so a year at
national scale (~1.2 million reminders) never sits in memory as a list. The output is
byte for byte what formatting the whole list at once gave (`render_table`, `plan_json`
through `json.dump(indent=2)`): the table's columns are padded to widths counted in a
first pass that builds no digest, and each JSON object is assembled from pieces rendered
once per unit, per day and per group of units with the same reminders.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator

from scheduler import vi
from scheduler.commands import clock_for, load, window
from scheduler.errors import UsageError
from scheduler.model import Unit
from scheduler.reminders import Batch, Digest, Planner

HEADER = ("Ngày gửi", "Giờ", "Đơn vị", "Số việc", "Tiêu đề")
EMPTY = "(không có thư nhắc việc nào trong khoảng thời gian này)"


def render_table(digests: list[Digest]) -> str:
    """The whole table of a list of digests (the streamed `plan` prints the same)."""
    rows = [HEADER]
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
        lines.append(EMPTY)
    else:
        lines.append(f"{len(digests)} thư nhắc việc")
    return "\n".join(lines)


CHUNK = 2048  # digests per write: a national send day is ~33,000


def _slices(count: int) -> Iterator[slice]:
    return (slice(start, start + CHUNK) for start in range(0, count, CHUNK))


def table_chunks(planner: Planner) -> Iterator[bytes]:
    """`render_table`'s text plus a final newline, UTF-8, a few thousand lines at a time.

    Every piece is encoded once (per unit, per send day, per batch) and lines are joined
    as bytes: encoding 250 MB of text line by line would cost more than the planning.
    """
    date_width, unit_width, items_width = planner.widths()
    widths = [max(len(HEADER[0]), date_width), max(len(HEADER[1]), 5 if date_width else 0),
              max(len(HEADER[2]), unit_width), max(len(HEADER[3]), len(str(items_width)))]
    yield ("  ".join([*(HEADER[i].ljust(widths[i]) for i in range(4)), HEADER[4]]).rstrip()
           + "\n" + "  ".join("-" * w for w in widths) + "  " + "-" * 7 + "\n").encode()
    padded: dict[str, bytes] = {}
    count = 0
    for day in planner.planned_days():
        lead = (vi.dated_with_weekday(day.send_day).ljust(widths[0]) + "  "
                + day.send_at.strftime("%H:%M").ljust(widths[1]) + "  ").encode()
        tails = [(("  " + str(len(b.leads)).ljust(widths[3]) + "  " + b.subject).rstrip()
                  + "\n").encode() for b in day.batches]
        names = []
        for unit in day.units:
            name = padded.get(unit.id)
            if name is None:
                name = padded[unit.id] = unit.id.ljust(widths[2]).encode()
            names.append(name)
        count += len(names)
        for part in _slices(len(names)):
            yield b"".join([lead + name + tails[c]
                            for name, c in zip(names[part], day.classes[part], strict=True)])
    yield ((f"{count} thư nhắc việc" if count else EMPTY) + "\n").encode()


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


def json_chunks(planner: Planner) -> Iterator[bytes]:
    """`json.dump(plan_json(...), indent=2, ensure_ascii=False)` plus a newline, UTF-8, a
    few thousand digests at a time (pieces encoded once, as in `table_chunks`)."""
    first = True
    cached: dict[str, tuple[bytes, bytes]] = {}
    for day in planner.planned_days():
        members = []
        for unit in day.units:
            member = cached.get(unit.id)
            if member is None:
                member = cached[unit.id] = _unit_json(unit)
            members.append(member)
        # ',\n  {\n    "key": "2026-06-10/' then the unit id: the key is one JSON string.
        head = (',\n  {\n    "key": ' + _dumps(day.send_day.isoformat() + "/")[:-1]).encode()
        send_at = f',\n    "send_at": {_dumps(day.send_at.isoformat())},\n'.encode()
        rests = [(f'    "subject": {_dumps(b.subject)},\n' + _items_json(b) + "  }").encode()
                 for b in day.batches]
        for part in _slices(len(members)):
            chunk = b"".join([head + key + send_at + unit + rests[c] for (key, unit), c
                              in zip(members[part], day.classes[part], strict=True)])
            if first:
                chunk = b"[" + chunk[1:]
                first = False
            yield chunk
    yield b"[]\n" if first else b"\n]\n"


def main(args: argparse.Namespace) -> int:
    config = load(args)
    start, end = window(args, clock_for(config))
    if args.unit is not None and config.unit(args.unit) is None:
        known = ", ".join(u.id for u in config.units[:8]) or "none configured"
        raise UsageError(f'--unit "{args.unit}" is not a unit id (known: {known})')
    planner = Planner(config, start, end, unit=args.unit)
    sys.stdout.flush()
    out = sys.stdout.buffer
    for chunk in json_chunks(planner) if args.format == "json" else table_chunks(planner):
        out.write(chunk)
    out.flush()
    return 0

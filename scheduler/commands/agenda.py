"""`lichnhac agenda`: the occurrences in a window, as a table or DESIGN.md's JSON."""

from __future__ import annotations

import argparse
import json
import sys

from scheduler import vi
from scheduler.commands import clock_for, load, window
from scheduler.config import Config
from scheduler.converters import did_you_mean
from scheduler.errors import UsageError
from scheduler.i18n import _
from scheduler.model import Occurrence
from scheduler.occurrences import occurrences


def agenda_items(config: Config, occs: list[Occurrence]) -> list[dict[str, object]]:
    """DESIGN.md's `agenda --format json` objects."""
    return [
        {
            "event": o.event.id,
            "title": o.event.title,
            "kind": o.event.kind,
            "start": o.start.isoformat(),
            "end": o.end.isoformat(),
            "units": list(o.units),
            "source": o.event.source,
        }
        for o in occs
    ]


def _units_label(config: Config, occ: Occurrence) -> str:
    if len(occ.units) == len(config.units) and config.units:
        return _("all ({count})").format(count=len(occ.units))
    if len(occ.units) <= 3:
        return ", ".join(occ.units) or "—"
    return _("{units} and {more} other units").format(units=", ".join(occ.units[:2]),
                                                       more=len(occ.units) - 2)


def render_table(config: Config, occs: list[Occurrence]) -> str:
    rows = [(_("Date"), _("Weekday"), _("Kind"), _("Event"), _("Units"))]
    for o in occs:
        when = vi.date_range(o.start, o.end)
        rows.append((when, vi.weekday(o.start), vi.KIND_LABELS[o.event.kind], o.event.title,
                     _units_label(config, o)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    if not occs:
        lines.append(_("(no events in this window)"))
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    config = load(args, calendars=args.calendar)
    start, end = window(args, clock_for(config))
    if args.unit is not None and config.unit(args.unit) is None:
        raise UsageError(_('--unit "{id}" is not a unit id').format(id=args.unit)
                         + did_you_mean(args.unit, (u.id for u in config.units)))
    occs = occurrences(config.events, start, end, config.groups(), unit=args.unit)
    if args.format == "json":
        json.dump(agenda_items(config, occs), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_table(config, occs))
    return 0

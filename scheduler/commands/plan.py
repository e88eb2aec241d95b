"""`lichnhac plan`: the reminder emails a window would send, as a table or DESIGN.md's JSON
(with follow-up on, the coordinators' escalation emails too: items with negative
`lead_days`, `-N` for the N-th working day after the due day)."""

from __future__ import annotations

import argparse
import json
import sys

from scheduler import vi
from scheduler.commands import clock_for, load, window
from scheduler.converters import did_you_mean
from scheduler.errors import UsageError
from scheduler.followup.escalation import with_escalations
from scheduler.reminders import Digest, plan_json, plan_reminders


def render_table(digests: list[Digest]) -> str:
    rows = [("Ngày gửi", "Giờ", "Đơn vị", "Số việc", "Tiêu đề")]
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
        lines.append("(không có thư nhắc việc nào trong khoảng thời gian này)")
    else:
        lines.append(f"{len(digests)} thư nhắc việc")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    config = load(args)
    start, end = window(args, clock_for(config))
    if args.unit is not None and config.unit(args.unit) is None:
        raise UsageError(f'--unit "{args.unit}" is not a unit id'
                         + did_you_mean(args.unit, (u.id for u in config.units)))
    digests = with_escalations(config, plan_reminders(config, start, end, unit=args.unit),
                               start, end, args.unit)
    if args.format == "json":
        json.dump(plan_json(digests), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_table(digests))
    return 0

"""The `plan` command as it was before it streamed: the whole list of digests built at
once, then formatted. Kept verbatim (with the follow-up branch's overdue items,
escalation emails and weekly summaries, which landed beside streaming) as the reference
the streamed output must equal byte for byte (tests/test_plan_stream.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime

from scheduler import vi
from scheduler.config import Config
from scheduler.followup.escalation import with_coordinator_digests
from scheduler.reminders import (
    Digest,
    ReminderItem,
    _Lead,
    _window_leads,
    digest_subject,
    plan_json,
)


def reference_plan(config: Config, start: date, end: date,
                   unit: str | None = None) -> list[Digest]:
    """Every digest whose send day lies in [start, end] (inclusive), sorted by send time."""
    if end < start:
        return []
    order = {u.id: index for index, u in enumerate(config.units)}
    per_digest: dict[tuple[date, str], list[_Lead]] = defaultdict(list)
    for lead in _window_leads(config, start, end, unit):
        for unit_id in lead.occurrence.units:
            if unit is None or unit_id == unit:
                per_digest[(lead.send_day, unit_id)].append(lead)
    tz = config.timezone
    digests: list[Digest] = []
    for (send_day, unit_id), leads in per_digest.items():
        recipient = config.unit(unit_id)
        if recipient is None or not recipient.emails:
            continue
        leads.sort(key=lambda x: (x.target, x.occurrence.start, x.occurrence.key))
        items = tuple(
            ReminderItem(occurrence=x.occurrence, lead_days=x.lead_days,
                         key=f"{unit_id}/{x.occurrence.key}/{x.lead_days}", target=x.target,
                         moved_from=x.moved_from, overdue_days=x.overdue_days)
            for x in leads)
        digests.append(Digest(
            key=f"{send_day.isoformat()}/{unit_id}",
            send_at=datetime.combine(send_day, config.reminders.send_time, tzinfo=tz),
            unit=unit_id, unit_name=recipient.name, to=recipient.emails,
            subject=digest_subject(items, send_day), items=items))
    digests.sort(key=lambda d: (d.send_at, order.get(d.unit, len(order)), d.unit))
    return digests


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


def reference_output(config: Config, start: date, end: date, fmt: str,
                     unit: str | None = None) -> str:
    """What `plan` printed: the table or the JSON, with print()'s final newline."""
    digests = with_coordinator_digests(config, reference_plan(config, start, end, unit), start,
                                       end, unit)
    if fmt == "json":
        return json.dumps(plan_json(digests), ensure_ascii=False, indent=2) + "\n"
    return render_table(digests) + "\n"

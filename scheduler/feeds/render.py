"""Rendering one VEVENT per occurrence, and the VCALENDAR around a list of them.

A VEVENT is rendered in two steps: its content (dates, text, alarm), whose hash is the
occurrence's revision, then its stamps (UID, DTSTAMP, LAST-MODIFIED, SEQUENCE) from the
revisions file. Neither step reads the clock, so the same data gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from hashlib import sha256

from scheduler import vi
from scheduler.config import Config
from scheduler.feeds.ics import (
    CRLF,
    clean_text,
    date_value,
    duration,
    escape_text,
    fold,
    text_line,
    utc_stamp,
)
from scheduler.feeds.revisions import Stamp
from scheduler.links import index_url
from scheduler.model import ALL_UNITS, Occurrence

PRODID = "-//lichnhac//Lich nhac binh dang gioi//VI"
UID_DOMAIN = "lichnhac"
CALENDAR_TITLE = "Lịch công tác bình đẳng giới"
# Names of the groups deployments commonly use; any other group is shown by its name.
GROUP_LABELS = {
    "offices": "các phòng, ban, cơ quan",
    "schools": "các trường học",
    "mass-organisations": "các tổ chức chính trị – xã hội",
    "communes": "các xã, phường, đặc khu",
    "departments": "các sở, ban, ngành",
}
# An event for thousands of units names groups; a list of unit names stops here.
MAX_NAMED_UNITS = 10


def uid_for(occurrence: Occurrence) -> str:
    """The stable ASCII UID of one occurrence: `<event-id>-<key suffix>@lichnhac`."""
    suffix = occurrence.key.split("/", 1)[1]
    return f"{occurrence.event.id}-{suffix}@{UID_DOMAIN}"


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs from the config, looked up once."""

    unit_names: Mapping[str, str]
    group_sizes: Mapping[str, int]
    coordinator: str | None
    index_url: str
    alarm_days: int | None
    alarm_time: time
    refresh_hours: int
    timezone_name: str

    @classmethod
    def from_config(cls, config: Config) -> RenderContext:
        return cls(
            unit_names={u.id: u.name for u in config.units},
            group_sizes={name: len(ids) for name, ids in config.groups().items()},
            coordinator=config.coordinator, index_url=index_url(config),
            alarm_days=config.feeds.alarm_days, alarm_time=config.reminders.send_time,
            refresh_hours=config.feeds.refresh_hours, timezone_name=config.timezone_name,
        )

    def unit_name(self, unit_id: str) -> str:
        return self.unit_names.get(unit_id, unit_id)

    def responsible(self, refs: tuple[str, ...]) -> str:
        """Who does it, by unit and group names (never emails), bounded in length."""
        parts: list[str] = []
        named = 0
        for ref in refs:
            if ref == ALL_UNITS:
                return f"Tất cả các đơn vị ({self.group_sizes.get(ALL_UNITS, 0)})"
            if ref in self.unit_names:
                named += 1
                if named <= MAX_NAMED_UNITS:
                    parts.append(self.unit_names[ref])
            elif ref in self.group_sizes:
                label = GROUP_LABELS.get(ref, f"nhóm “{ref}”")
                parts.append(f"{label} ({self.group_sizes[ref]} đơn vị)")
        if named > MAX_NAMED_UNITS:
            parts.append(f"và {named - MAX_NAMED_UNITS} đơn vị khác")
        return "; ".join(parts) or "—"


def description(ctx: RenderContext, occ: Occurrence) -> str:
    event = occ.event
    lines = [f"{vi.KIND_LABELS[event.kind]}: {vi.date_range(occ.start, occ.end)}"]
    if event.description:
        lines.append(event.description)
    if event.basis:
        lines.append(f"Căn cứ: {event.basis}")
    lines.append(f"Đơn vị thực hiện: {ctx.responsible(event.units)}")
    report_to = event.report_to or (ctx.coordinator if event.kind == "deadline" else None)
    if report_to:
        lines.append(f"Gửi báo cáo về: {ctx.unit_name(report_to)}")
    if event.url:
        lines.append(f"Chi tiết: {event.url}")
    lines.append(f"Lịch và hướng dẫn đăng ký: {ctx.index_url}")
    return "\n".join(lines)


def event_content(ctx: RenderContext, occ: Occurrence) -> bytes:
    """Every line of the VEVENT except BEGIN/END and the stamps; the VALARM comes last."""
    event = occ.event
    out = [
        fold(f"DTSTART;VALUE=DATE:{date_value(occ.start)}"),
        fold(f"DTEND;VALUE=DATE:{date_value(occ.end + timedelta(days=1))}"),
        text_line("SUMMARY", event.title),
        text_line("DESCRIPTION", description(ctx, occ), multiline=True),
        text_line("CATEGORIES", vi.KIND_LABELS[event.kind]),
        b"TRANSP:TRANSPARENT\r\n",
        b"CLASS:PUBLIC\r\n",
        b"STATUS:CONFIRMED\r\n",
    ]
    if ctx.alarm_days is not None:
        at = timedelta(hours=ctx.alarm_time.hour, minutes=ctx.alarm_time.minute)
        trigger = at - timedelta(days=ctx.alarm_days)
        out += [
            b"BEGIN:VALARM\r\n",
            b"ACTION:DISPLAY\r\n",
            text_line("DESCRIPTION", event.title),
            fold(f"TRIGGER:{duration(trigger)}"),
            b"END:VALARM\r\n",
        ]
    return b"".join(out)


def content_revision(content: bytes) -> str:
    return sha256(content).hexdigest()[:16]


def stamped_event(uid: str, stamp: Stamp, content: bytes) -> bytes:
    """The whole VEVENT: identity and stamps first, then the content (VALARM last)."""
    return b"".join((
        b"BEGIN:VEVENT\r\n",
        fold(f"UID:{uid}"),
        fold(f"DTSTAMP:{utc_stamp(stamp.modified)}"),
        fold(f"CREATED:{utc_stamp(stamp.created)}"),
        fold(f"LAST-MODIFIED:{utc_stamp(stamp.modified)}"),
        fold(f"SEQUENCE:{stamp.sequence}"),
        content,
        b"END:VEVENT\r\n",
    ))


class CalendarHeader:
    """BEGIN:VCALENDAR, its properties (RFC 7986 and the X-WR ones clients read) and the
    VTIMEZONE; only the name differs between feeds, so the rest is rendered once."""

    def __init__(self, ctx: RenderContext, vtimezone: bytes) -> None:
        refresh = duration(timedelta(hours=ctx.refresh_hours))
        self.before = b"".join((
            b"BEGIN:VCALENDAR\r\n",
            b"VERSION:2.0\r\n",
            fold(f"PRODID:{PRODID}"),
            b"CALSCALE:GREGORIAN\r\n",
            b"METHOD:PUBLISH\r\n",
        ))
        self.after = b"".join((
            text_line("X-WR-CALDESC", f"{CALENDAR_TITLE}. Hướng dẫn: {ctx.index_url}"),
            fold(f"X-WR-TIMEZONE:{ctx.timezone_name}"),
            fold(f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}"),
            fold(f"X-PUBLISHED-TTL:{refresh}"),
            vtimezone,
        ))

    def render(self, name: str) -> bytes:
        value = escape_text(clean_text(name))  # what text_line() writes, cleaned once
        return b"".join((self.before, fold(f"NAME:{value}"), fold(f"X-WR-CALNAME:{value}"),
                         self.after))


def calendar_header(ctx: RenderContext, name: str, vtimezone: bytes) -> bytes:
    """The header of a calendar named `name`."""
    return CalendarHeader(ctx, vtimezone).render(name)


CALENDAR_FOOTER = b"END:VCALENDAR" + CRLF

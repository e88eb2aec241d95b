"""Reading calendar files: `[[event]]` definitions and the `[[unit]]`s a calendar may bring.

The format is DESIGN.md's "Calendar file". Parsing reports every problem it finds with
file:line; references to units are checked later, once config and all calendars are read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.rrule import rrulestr

from scheduler import converters
from scheduler.i18n import N_, _
from scheduler.model import (
    KINDS,
    MAX_RECURRENCE_DAYS,
    DatedSpan,
    DateRule,
    Event,
    LunarYearly,
    Recurrence,
    Unit,
    YearlyDate,
    YearlyMonth,
    YearlySpan,
    month_end,
)
from scheduler.reader import Reader
from scheduler.tomlfile import PathKey

EVENT_KEYS = frozenset({
    "id", "title", "kind", "date", "start", "end", "month", "rrule", "lunar", "units",
    "basis", "report_to", "description", "url", "lead_days",
})
UNIT_KEYS = frozenset({"id", "name", "email", "groups", "aliases"})
CALENDAR_KEYS = frozenset({"event", "unit", "name", "basis"})
# The anchor (DTSTART) of an RRULE without an explicit `start`.
DEFAULT_RRULE_ANCHOR = date(2000, 1, 1)


@dataclass(frozen=True)
class Calendar:
    """The parsed content of one calendar file."""

    name: str
    events: tuple[Event, ...]
    units: tuple[Unit, ...]


def read_unit(reader: Reader, path: PathKey, table: dict[str, Any]) -> Unit | None:
    """One `[[unit]]` table, from config or a calendar; None if it has no usable id."""
    reader.check_keys(path, table, UNIT_KEYS, "[[unit]]")
    raw_id = reader.value(path, table, "id", str, "[[unit]]")
    label = reader.translate(N_("unit"))
    uid = reader.convert(path, "id", raw_id, converters.unit_id, label) if raw_id else None
    where = reader.translate(N_('unit "{id}"')).format(id=raw_id) if raw_id else label
    name = reader.value(path, table, "name", str, where, default=raw_id or "")
    emails = reader.each_string(path, "email", reader.string_list(path, table, "email", where),
                                converters.email_address, where)
    groups = reader.each_string(path, "groups", reader.string_list(path, table, "groups", where),
                                converters.unit_id, where)
    aliases = reader.string_list(path, table, "aliases", where)
    if uid is None:
        return None
    if uid == "all" or uid in groups:
        reader.error((*path, "id"), _('{where}: id "{id}" is reserved or names a group')
                     .format(where=where, id=uid))
    return Unit(id=uid, name=name.strip() or uid, emails=tuple(emails), groups=tuple(groups),
                aliases=tuple(a.strip() for a in aliases if a.strip()),
                source=f"{reader.doc.name}:{reader.doc.line(path)}")


def _rule(reader: Reader, path: PathKey, table: dict[str, Any], where: str) -> DateRule | None:
    present: list[str] = [k for k in ("date", "month", "rrule", "lunar") if k in table]
    if ("start" in table or "end" in table) and "rrule" not in table:
        present.append("start/end")  # with rrule, start is its anchor
    if not present:
        reader.error(path, _("{where}: no date: expected one of date, start/end, month, "
                             "rrule, lunar").format(where=where))
        return None
    if len(present) > 1:
        reader.error(path, _("{where}: has both {keys}: expected only one")
                     .format(where=where, keys=_(" and ").join(present)))
        return None
    which = present[0]
    if which == "date":
        raw = reader.value(path, table, "date", (str, date), where)
        value = reader.convert(path, "date", raw, converters.day_or_yearly, where) if raw else None
        if isinstance(value, date):
            return DatedSpan(value, value)
        return YearlyDate(*value) if value else None
    if which == "month":
        raw = reader.value(path, table, "month", (int, str), where)
        month = (reader.convert(path, "month", raw, converters.month_or_year_month, where)
                 if raw is not None else None)
        if isinstance(month, tuple):
            year, number = month
            return DatedSpan(date(year, number, 1), month_end(year, number))
        return YearlyMonth(month) if month else None
    if which == "lunar":
        raw = reader.value(path, table, "lunar", str, where)
        value = reader.convert(path, "lunar", raw, converters.month_day, where) if raw else None
        if value and value[1] > 30:
            reader.error((*path, "lunar"), _("{where}: lunar {value} is not a lunar day: "
                                             "expected day 1-30")
                         .format(where=where, value=converters.quoted(raw)))
            return None
        return LunarYearly(*value) if value else None
    if which == "rrule":
        return _recurrence(reader, path, table, where)
    return _span(reader, path, table, where)


def _span(reader: Reader, path: PathKey, table: dict[str, Any], where: str) -> DateRule | None:
    if "start" not in table or "end" not in table:
        missing = "end" if "start" in table else "start"
        reader.error(path, _('{where}: a span needs both start and end, "{key}" is missing')
                     .format(where=where, key=missing))
        return None
    raw_start = reader.value(path, table, "start", (str, date), where)
    raw_end = reader.value(path, table, "end", (str, date), where)
    start = (reader.convert(path, "start", raw_start, converters.day_or_yearly, where)
             if raw_start is not None else None)
    end = (reader.convert(path, "end", raw_end, converters.day_or_yearly, where)
           if raw_end is not None else None)
    if start is None or end is None:
        return None
    if isinstance(start, date) != isinstance(end, date):
        reader.error((*path, "end"), _("{where}: start and end must both be yearly (MM-DD) "
                                       "or both dated (YYYY-MM-DD)").format(where=where))
        return None
    if end < start:  # type: ignore[operator]  # same type, checked above
        reader.error((*path, "end"), _("{where}: end {end} is before start {start}")
                     .format(where=where, end=converters.quoted(raw_end),
                             start=converters.quoted(raw_start)))
        return None
    if isinstance(start, date) and isinstance(end, date):
        return DatedSpan(start, end)
    assert isinstance(start, tuple) and isinstance(end, tuple)
    return YearlySpan(start, end)


def _recurrence(reader: Reader, path: PathKey, table: dict[str, Any],
                where: str) -> DateRule | None:
    rule = reader.value(path, table, "rrule", str, where)
    if rule is None:
        return None
    anchor = DEFAULT_RRULE_ANCHOR
    if "start" in table:
        raw = reader.value(path, table, "start", (str, date), where)
        value = reader.convert(path, "start", raw, converters.iso_date, where) if raw else None
        if value is None:
            return None
        anchor = value
    if "end" in table:
        reader.error((*path, "end"), _("{where}: end cannot go with rrule: "
                                       "use UNTIL= inside the rule").format(where=where))
        return None
    text = rule.strip().removeprefix("RRULE:")
    if "DTSTART" in text.upper() or "\n" in text:
        reader.error((*path, "rrule"), _("{where}: rrule {value} must be one RRULE line; "
                                         "put its first date in start")
                     .format(where=where, value=converters.quoted(rule)))
        return None
    if anchor < EARLIEST_RRULE_START:
        reader.error((*path, "start"), _("{where}: start {day} is before {earliest}: "
                                         "expected the rule's first date")
                     .format(where=where, day=anchor.isoformat(),
                             earliest=EARLIEST_RRULE_START.isoformat()))
        return None
    reason = _rrule_problem(text, anchor)
    if reason:
        reader.error((*path, "rrule"), _('{where}: rrule {value} is not a valid RRULE '
                                         '({reason}): expected e.g. '
                                         '"FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=20"')
                     .format(where=where, value=converters.quoted(rule), reason=reason))
        return None
    return Recurrence(text, anchor)


_FREQUENCIES = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
# Parts that would make one day several occurrences (we work in days) or that are not
# RFC 5545 (dateutil's BYEASTER): refused.
_REFUSED_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND", "BYEASTER")
MAX_INTERVAL = 1000
# An RRULE's start earlier than this would make every expansion walk centuries.
EARLIEST_RRULE_START = date(1900, 1, 1)


def _rrule_problem(text: str, anchor: date = DEFAULT_RRULE_ANCHOR) -> str | None:
    """Why `text` is not a usable RRULE, in our own words (None if it is one)."""
    parts = dict(part.partition("=")[::2] for part in text.upper().split(";") if part)
    freq = parts.get("FREQ")
    if freq is None:
        return _("no FREQ")
    if freq not in _FREQUENCIES:
        return _("FREQ={freq} is not one of {choices}").format(freq=freq,
                                                               choices=", ".join(_FREQUENCIES))
    for name in _REFUSED_PARTS:
        if name in parts:
            return _("{name} is not supported: occurrences are whole days").format(name=name)
    for name, low, high in (("INTERVAL", 1, MAX_INTERVAL), ("COUNT", 1, MAX_RECURRENCE_DAYS)):
        if name in parts:
            value = parts[name].strip()
            if not value.isdigit() or not low <= int(value) <= high:
                return _("{name}={value} must be a whole number {low}..{high}").format(
                    name=name, value=parts[name], low=low, high=high)
    try:
        rrulestr(text, dtstart=None)
    except (ValueError, TypeError, OverflowError):
        return "dateutil cannot read it"
    try:
        if Recurrence(text, anchor).first() is None:
            return "it never happens"
    except (ValueError, TypeError, OverflowError):
        return "it cannot be expanded"
    return None


def _revision(table: dict[str, Any]) -> str:
    canonical = json.dumps(table, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_event(reader: Reader, path: PathKey, table: dict[str, Any]) -> Event | None:
    reader.check_keys(path, table, EVENT_KEYS, "[[event]]")
    raw_id = reader.value(path, table, "id", str, "[[event]]")
    event_id = (reader.convert(path, "id", raw_id, converters.unit_id, _("event"))
                if raw_id else None)
    where = _('event "{id}"').format(id=raw_id) if raw_id else _("event")
    title = reader.value(path, table, "title", str, where)
    kind = reader.value(path, table, "kind", str, where)
    if kind is not None and kind not in KINDS:
        reader.error((*path, "kind"), _('{where}: kind "{kind}" is not a kind: expected one '
                                        "of {kinds}")
                     .format(where=where, kind=kind, kinds=", ".join(KINDS)))
        kind = None
    rule = _rule(reader, path, table, where)
    units = reader.string_list(path, table, "units", where)
    if "units" not in table:
        reader.error(path, _('{where}: missing key "units": expected unit ids, groups or '
                             '"all"').format(where=where))
    basis = reader.value(path, table, "basis", str, where, default="")
    report_to = reader.value(path, table, "report_to", str, where, default=None)
    description = reader.value(path, table, "description", str, where, default="")
    url = reader.value(path, table, "url", str, where, default="")
    if url:
        url = reader.convert(path, "url", url, converters.http_url, where) or ""
    leads = None
    if "lead_days" in table:
        leads = reader.convert(path, "lead_days", table["lead_days"], converters.lead_days, where)
    if not (event_id and title and kind and rule and units):
        return None
    if title is not None and not title.strip():
        reader.error((*path, "title"), _("{where}: title is empty").format(where=where))
        return None
    return Event(
        id=event_id, title=" ".join(title.split()), kind=kind, rule=rule, units=tuple(units),
        basis=basis.strip(), report_to=report_to, description=description.strip(), url=url,
        lead_days=leads, file=reader.doc.name, line=reader.doc.line(path),
        revision=_revision(table),
    )


def read_calendar(reader: Reader) -> Calendar:
    """Every event and unit of one calendar file; problems go to the reader."""
    data = reader.doc.data
    reader.check_keys((), data, CALENDAR_KEYS, _("a calendar file"))
    events: list[Event] = []
    units: list[Unit] = []
    seen: dict[str, int] = {}
    raw_events = data.get("event", [])
    if not isinstance(raw_events, list):
        reader.error(("event",), _("event must be an array of tables: write [[event]]"))
        raw_events = []
    for index, table in enumerate(raw_events):
        path: PathKey = ("event", index)
        if not isinstance(table, dict):
            reader.error(path, _("each event must be a table: write [[event]]"))
            continue
        raw_id = table.get("id")
        if isinstance(raw_id, str) and raw_id in seen:
            reader.error((*path, "id"), _('event "{id}": duplicate id, first defined at line '
                                          "{line}").format(id=raw_id, line=seen[raw_id]))
            read_event(reader, path, table)  # still report its other problems
            continue
        if isinstance(raw_id, str):
            seen[raw_id] = reader.doc.line(path)
        event = read_event(reader, path, table)
        if event is not None:
            events.append(event)
    raw_units = data.get("unit", [])
    if not isinstance(raw_units, list):
        reader.error(("unit",), _("unit must be an array of tables: write [[unit]]"))
        raw_units = []
    for index, table in enumerate(raw_units):
        if isinstance(table, dict):
            unit = read_unit(reader, ("unit", index), table)
            if unit:
                units.append(unit)
    return Calendar(name=reader.doc.name, events=tuple(events), units=tuple(units))

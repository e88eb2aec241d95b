"""How the config and its calendars combine: units and events merged in order (a later
calendar's event replaces an earlier one with the same id), and the references of each
event to units and groups checked against the merged whole."""

from __future__ import annotations

from scheduler import converters
from scheduler.calendar import Calendar
from scheduler.errors import Problem
from scheduler.i18n import _
from scheduler.model import Event, Unit
from scheduler.reader import Reader


def merge_units(config_units: dict[str, Unit], calendars: list[Calendar]) -> list[Unit]:
    """Config units first; a calendar's unit is added only if no earlier source has its id."""
    merged = dict(config_units)
    for calendar in calendars:
        for unit in calendar.units:
            merged.setdefault(unit.id, unit)
    return list(merged.values())


def merge_events(calendars: list[Calendar]) -> dict[str, Event]:
    """A later calendar's event replaces an earlier one with the same id (local overrides)."""
    events: dict[str, Event] = {}
    for calendar in calendars:
        for event in calendar.events:
            events.pop(event.id, None)
            events[event.id] = event
    return events


def check_references(reader: Reader, event: Event, known: set[str], groups: set[str]) -> None:
    """An event's `units` and `report_to` name known units or groups (else a problem at
    the value's line, with a "did you mean")."""
    path = _event_path(reader, event)
    for ref in event.units:
        if ref not in known and ref not in groups:
            reader.problems.append(Problem(
                reader.doc.name, reader.doc.line_of_value((*path, "units"), ref),
                _('event "{id}": units "{ref}" is not a unit id or group')
                .format(id=event.id, ref=ref) + converters.did_you_mean(ref, known | groups)))
    if event.report_to is not None and event.report_to not in known:
        reader.error((*path, "report_to"), _('event "{id}": report_to "{ref}" is not a unit id')
                     .format(id=event.id, ref=event.report_to)
                     + converters.did_you_mean(event.report_to, known))


def _event_path(reader: Reader, event: Event) -> tuple[str | int, ...]:
    for key, line in reader.doc.lines.items():
        if len(key) == 2 and key[0] == "event" and line == event.line:
            return key
    return ("event",)

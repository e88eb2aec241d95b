"""Expanding events into the occurrences that touch a window of dates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from scheduler.i18n import _
from scheduler.model import ALL_UNITS, Event, Occurrence, RecurrenceError


def resolve_units(event: Event, groups: Mapping[str, tuple[str, ...]],
                  unit_order: Mapping[str, int]) -> tuple[str, ...]:
    """The unit ids an event concerns: its ids and its groups' members, in config order."""
    ids: set[str] = set()
    for ref in event.units:
        members = groups.get(ref)
        if members is not None:
            ids.update(members)
        elif ref in unit_order:
            ids.add(ref)
    if len(ids) * 8 > len(unit_order):
        # Most of the units (a national group): one pass in config order beats a sort.
        return tuple(uid for uid in unit_order if uid in ids)
    return tuple(sorted(ids, key=lambda uid: unit_order[uid]))


def occurrences(events: Iterable[Event], start: date, end: date,
                groups: Mapping[str, tuple[str, ...]], unit: str | None = None,
                ) -> list[Occurrence]:
    """Every occurrence overlapping [start, end] (inclusive), sorted by start date.

    `groups` maps group names (including "all") to unit ids; with `unit`, only the
    occurrences that concern that unit are returned.
    """
    order = {uid: index for index, uid in enumerate(groups.get(ALL_UNITS, ()))}
    found: list[Occurrence] = []
    # A span starting in the previous year may still run into the window.
    for event in events:
        units = resolve_units(event, groups, order)
        if unit is not None and unit not in units:
            continue
        try:
            for span in event.rule.spans(start.year - 1, end.year):
                if span.end < start or span.start > end:
                    continue
                found.append(Occurrence(event=event, start=span.start, end=span.end,
                                        units=units, key=f"{event.id}/{span.key}"))
        except RecurrenceError as exc:
            raise RecurrenceError(_('{where}: event "{event}": {problem}').format(
                where=event.source, event=event.id, problem=exc)) from None
    found.sort(key=lambda o: (o.start, o.end, o.event.kind, o.event.id))
    return found

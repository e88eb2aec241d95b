"""The index page: every feed with its subscribe links, and the upcoming events.

Rendered with Jinja2 (autoescape on) by the web server and by `export`; the page needs
no JavaScript. With private feeds, unit feeds are not listed: their URLs reach each
unit in its reminder emails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import jinja2

from scheduler import vi
from scheduler.config import Config
from scheduler.feeds.assemble import FeedSet, all_calendar_name, kind_calendar_name
from scheduler.feeds.render import CALENDAR_TITLE
from scheduler.links import Subscription, feed_url, unit_subscribe_path
from scheduler.model import Occurrence
from scheduler.pages.unit_search import matches
from scheduler.reminders import target_day

__all__ = ["WEB_UNIT_LIMIT", "Subscription", "UpcomingItem", "render_index"]

# A web page listing 35,000 units is no use to anyone: the server shows this many and a
# search box; the static export lists every unit.
WEB_UNIT_LIMIT = 300


@dataclass(frozen=True)
class UpcomingItem:
    """One line of the upcoming list."""

    when: str          # "Thứ Tư, 10/06/2026", a span with each end's weekday
    kind: str          # what the event is ("Hạn báo cáo", "Thời hạn thực hiện", ...)
    title: str
    moved_note: str    # a deadline on a day off: the same note as the emails ("" if none)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    folder = resources.files("scheduler") / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def _upcoming(config: Config, occs: list[Occurrence]) -> list[UpcomingItem]:
    workdays = config.workdays()
    items = []
    for occ in occs:
        note = ""
        target, moved_from = target_day(occ, workdays)
        if moved_from is not None:
            reason = workdays.day_off_reason(moved_from) or "ngày nghỉ"
            note = vi.moved_deadline_note(moved_from, reason, target)
        items.append(UpcomingItem(vi.date_range_with_weekdays(occ.start, occ.end),
                                  vi.event_label(occ.event.kind, occ.event.title),
                                  occ.event.title, note))
    return items


def render_index(config: Config, feedset: FeedSet, today: date, query: str | None = None,
                 limit: int | None = None, subscribe_pages: bool = False) -> bytes:
    """The index page as UTF-8 HTML; `query` finds units (`scheduler.pages.unit_search`:
    without diacritics, by alias or abbreviation), `limit` caps them; `subscribe_pages`
    links each unit to its subscribe page (the web server serves them, `export` writes them)."""
    entries = list(feedset.units)
    if query:
        entries = [e for e in entries if matches(query, e.unit)]
    matched = len(entries)
    if limit is not None:
        entries = entries[:limit]
    units = [] if feedset.private else [
        (entry, Subscription(entry.unit.name, feed_url(config, entry.path)),
         unit_subscribe_path(entry.unit.id) if subscribe_pages else "")
        for entry in entries
    ]
    html = _environment().get_template("index.html.j2").render(
        title=CALENDAR_TITLE,
        everything=Subscription(all_calendar_name(), feed_url(config, "all.ics")),
        kinds=[(vi.KIND_LABELS[kind], Subscription(kind_calendar_name(kind),
                                                   feed_url(config, path)))
               for kind, path in feedset.kinds],
        units=units, matched=matched, total=len(feedset.units), query=query or "",
        searchable=limit is not None, private=feedset.private,
        upcoming=_upcoming(config, feedset.upcoming(today)), today=vi.short_date(today),
        window=vi.date_range(*feedset.window),
    )
    return html.encode("utf-8")

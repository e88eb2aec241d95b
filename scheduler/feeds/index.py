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
from urllib.parse import quote

import jinja2

from scheduler import vi
from scheduler.config import Config
from scheduler.feeds.assemble import FeedSet, all_calendar_name, kind_calendar_name
from scheduler.feeds.render import CALENDAR_TITLE
from scheduler.links import feed_url
from scheduler.model import Occurrence

OUTLOOK_LIVE = "https://outlook.live.com/calendar/0/addfromweb"
OUTLOOK_365 = "https://outlook.office.com/calendar/0/addfromweb"
# A web page listing 35,000 units is no use to anyone: the server shows this many and a
# search box; the static export lists every unit.
WEB_UNIT_LIMIT = 300


@dataclass(frozen=True)
class Subscription:
    """One feed as the page offers it."""

    name: str
    url: str

    @property
    def webcal(self) -> str:
        """`webcal://` for Apple Calendar and Outlook desktop (one click)."""
        return "webcal://" + self.url.split("://", 1)[1]

    def _addfromweb(self, base: str) -> str:
        return f"{base}?url={quote(self.url, safe='')}&name={quote(self.name, safe='')}"

    @property
    def outlook_live(self) -> str:
        return self._addfromweb(OUTLOOK_LIVE)

    @property
    def outlook_365(self) -> str:
        return self._addfromweb(OUTLOOK_365)


@dataclass(frozen=True)
class UpcomingItem:
    when: str
    weekday: str
    kind: str
    title: str


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    folder = resources.files("scheduler") / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def _upcoming(occs: list[Occurrence]) -> list[UpcomingItem]:
    return [UpcomingItem(vi.date_range(o.start, o.end), vi.weekday(o.start),
                         vi.KIND_LABELS[o.event.kind], o.event.title) for o in occs]


def render_index(config: Config, feedset: FeedSet, today: date, query: str | None = None,
                 limit: int | None = None) -> bytes:
    """The index page as UTF-8 HTML; `query` filters units by name or id, `limit` caps them."""
    entries = list(feedset.units)
    if query:
        needle = query.casefold().strip()
        entries = [e for e in entries
                   if needle in e.unit.name.casefold() or needle in e.unit.id]
    matched = len(entries)
    if limit is not None:
        entries = entries[:limit]
    units = [] if feedset.private else [
        (entry, Subscription(entry.unit.name, feed_url(config, entry.path)))
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
        upcoming=_upcoming(feedset.upcoming(today)), today=vi.short_date(today),
        window=vi.date_range(*feedset.window),
    )
    return html.encode("utf-8")

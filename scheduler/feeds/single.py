"""`calendar_bytes`: a complete VCALENDAR for any list of occurrences (email attachments).

It renders exactly like the feeds (same UIDs, same text, same SEQUENCE as the last feed
build recorded in the store), but only reads the feed revisions, never writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache

from scheduler.config import Config
from scheduler.feeds.ics import vtimezone
from scheduler.feeds.render import (
    CALENDAR_FOOTER,
    RenderContext,
    calendar_header,
    content_revision,
    event_content,
    stamped_event,
    uid_for,
)
from scheduler.feeds.revisions import UNKNOWN_STAMP, EventRevisions, Stamp
from scheduler.model import Occurrence
from scheduler.store.documents import documents

# With no occurrence to size it, a VTIMEZONE still needs a span of years.
_FALLBACK_YEAR = 2026


@lru_cache(maxsize=16)
def cached_vtimezone(tzid: str, first: date, last: date) -> bytes:
    return vtimezone(tzid, first, last)


def calendar_bytes(config: Config, occurrences: Sequence[Occurrence], name: str,
                   first_seen: datetime | None = None) -> bytes:
    """A whole VCALENDAR named `name` holding one VEVENT per occurrence, in the given order.

    An occurrence the feed revisions do not know yet (no feed build has seen it) is
    stamped `first_seen` (an email: its moment of sending) if given."""
    ctx = RenderContext.from_config(config)
    revisions = EventRevisions.read(documents(config), config.state_dir)
    events = []
    for occ in occurrences:
        content = event_content(ctx, occ)
        uid = uid_for(occ)
        stamp = revisions.peek(uid, content_revision(content))
        if first_seen is not None and stamp.modified == UNKNOWN_STAMP:
            stamp = Stamp(0, first_seen, first_seen)
        events.append(stamped_event(uid, stamp, content))
    if occurrences:
        first = date(min(o.start.year for o in occurrences), 1, 1)
        last = date(max(o.end.year for o in occurrences), 12, 31)
    else:
        first, last = date(_FALLBACK_YEAR, 1, 1), date(_FALLBACK_YEAR, 12, 31)
    header = calendar_header(ctx, name, cached_vtimezone(config.timezone_name, first, last))
    return b"".join((header, *events, CALENDAR_FOOTER))

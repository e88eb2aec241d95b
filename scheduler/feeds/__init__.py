"""ICS feeds: one for everything, one per unit, one per kind of event (FEEDS.md).

Each occurrence's VEVENT is rendered once; unit and kind feeds are assembled from those
bytes. `build_feedset` builds them all for a config and a day; `calendar_bytes` renders
a VCALENDAR for any list of occurrences (the reminder emails attach one).
"""

from __future__ import annotations

from scheduler.feeds.assemble import Feed, FeedSet, UnitEntry, build_feedset, feed_window
from scheduler.feeds.render import uid_for
from scheduler.feeds.single import calendar_bytes

__all__ = ["Feed", "FeedSet", "UnitEntry", "build_feedset", "calendar_bytes", "feed_window",
           "uid_for"]

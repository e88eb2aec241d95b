"""A unit's subscribe page: how to subscribe to that unit's feed, with one-click links.

Reminder emails link here (`scheduler.links.unit_subscribe_url`). The page's path is its
feed's path under `/subscribe/` without `.ics`:

    /subscribe/units/<unit-id>            feed /feeds/units/<unit-id>.ics
    /subscribe/<token>/units/<unit-id>    feed /feeds/<token>/units/<unit-id>.ics   (private)

so the page exists exactly when the feed does: with `[web] private_feeds` the public path
answers 404 and the page is as unguessable as the feed it shows (the same 144-bit token,
nothing more to keep secret); a rotated token's page answers 410 like its feed. The page
explains the one mistake officers make — opening the `.ics` file imports a copy that
never updates — and gives the same links as the index page (`Subscription`).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import jinja2

from scheduler.config import Config
from scheduler.feeds import FeedSet
from scheduler.feeds.assemble import UnitEntry
from scheduler.links import Subscription, feed_url, index_url

TEMPLATE = "subscribe.html.j2"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    folder = resources.files("scheduler") / "templates"
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def find_unit(feedset: FeedSet, page_path: str) -> UnitEntry | None:
    """The unit whose subscribe page is `page_path` (below /subscribe/), if its feed exists."""
    feed_path = page_path + ".ics"
    if feed_path not in feedset.feeds:
        return None
    for entry in feedset.units:
        if entry.path == feed_path:
            return entry
    return None


def render_subscribe(config: Config, entry: UnitEntry, private: bool) -> bytes:
    """The subscribe page of `entry`'s unit as UTF-8 HTML."""
    subscription = Subscription(entry.unit.name, feed_url(config, entry.path))
    html = _environment().get_template(TEMPLATE).render(
        unit_name=entry.unit.name, events=entry.events, sub=subscription, private=private,
        index_url=index_url(config))
    return html.encode("utf-8")

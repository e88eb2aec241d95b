"""The public URLs of feeds and pages, as subscribers and emails see them."""

from __future__ import annotations

from scheduler.config import Config


def unit_feed_path(unit_id: str) -> str:
    """The path of a unit's public feed, below the base URL."""
    return f"/feeds/units/{unit_id}.ics"


def unit_feed_url(config: Config, unit_id: str) -> str:
    """The https (or http) URL a unit subscribes to."""
    return config.web.base_url + unit_feed_path(unit_id)


def index_url(config: Config) -> str:
    return config.web.base_url + "/"

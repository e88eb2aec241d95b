"""The public URLs of feeds and pages, as subscribers and emails see them."""

from __future__ import annotations

from scheduler.config import Config


def unit_feed_path(unit_id: str, token: str | None = None) -> str:
    """The path of a unit's feed below the base URL (`token` for private feeds)."""
    if token:
        return f"/feeds/{token}/units/{unit_id}.ics"
    return f"/feeds/units/{unit_id}.ics"


def unit_feed_url(config: Config, unit_id: str) -> str:
    """The https (or http) URL a unit subscribes to.

    With `[web] private_feeds`, the URL carries the unit's token from the state dir
    (created there if the unit has none yet; see `scheduler.tokens`).
    """
    token = None
    if config.web.private_feeds:
        from scheduler.tokens import unit_token

        token = unit_token(config.state_dir, unit_id, (u.id for u in config.units))
    return config.web.base_url + unit_feed_path(unit_id, token)


def feed_url(config: Config, path: str) -> str:
    """The URL of the feed at `path` below /feeds/ (`all.ics`, `kinds/deadline.ics`, ...)."""
    return f"{config.web.base_url}/feeds/{path}"


def index_url(config: Config) -> str:
    return config.web.base_url + "/"

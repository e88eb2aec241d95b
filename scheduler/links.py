"""The public URLs of feeds and pages, as subscribers and emails see them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from urllib.parse import quote

from scheduler.config import Config

OUTLOOK_LIVE = "https://outlook.live.com/calendar/0/addfromweb"
OUTLOOK_365 = "https://outlook.office.com/calendar/0/addfromweb"


@dataclass(frozen=True)
class Subscription:
    """One feed as the index page, the subscribe page and the emails offer it."""

    name: str
    url: str

    @property
    def webcal(self) -> str:
        """`webcal://` for Apple Calendar and Outlook desktop (one click)."""
        return "webcal://" + self.url.split("://", 1)[1]

    @cached_property
    def _query(self) -> str:
        """`?url=...&name=...`, quoted once for both Outlook links."""
        return f"?url={_quote_url(self.url)}&name={quote(self.name, safe='')}"

    def _addfromweb(self, base: str) -> str:
        return base + self._query

    @property
    def outlook_live(self) -> str:
        """Outlook on the web, personal accounts: subscribes in one click (then *Nhập*)."""
        return self._addfromweb(OUTLOOK_LIVE)

    @property
    def outlook_365(self) -> str:
        """Outlook on the web, Microsoft 365 (work) accounts."""
        return self._addfromweb(OUTLOOK_365)


@lru_cache(maxsize=64)
def _quoted_prefix(prefix: str) -> str:
    return quote(prefix, safe="")


def _quote_url(url: str) -> str:
    """`quote(url, safe="")`, its part up to the last "/" (the base URL and folder every
    unit's feed shares) quoted once: quoting works character by character, so the
    halves quoted apart join into the same text."""
    head, slash, tail = url.rpartition("/")
    return _quoted_prefix(head + slash) + quote(tail, safe="")


def unit_feed_path(unit_id: str, token: str | None = None) -> str:
    """The path of a unit's feed below the base URL (`token` for private feeds)."""
    if token:
        return f"/feeds/{token}/units/{unit_id}.ics"
    return f"/feeds/units/{unit_id}.ics"


def unit_subscribe_path(unit_id: str, token: str | None = None) -> str:
    """The path of a unit's subscribe page: its feed's path under /subscribe/ without
    `.ics`, so a private feed's page is exactly as unguessable as the feed itself."""
    return "/subscribe" + unit_feed_path(unit_id, token).removeprefix("/feeds").removesuffix(
        ".ics")


def _unit_token(config: Config, unit_id: str) -> str | None:
    if not config.web.private_feeds:
        return None
    from scheduler.store.documents import documents
    from scheduler.tokens import unit_token

    return unit_token(documents(config), config.state_dir, unit_id,
                      (u.id for u in config.units))


def unit_feed_url(config: Config, unit_id: str) -> str:
    """The https (or http) URL a unit subscribes to.

    With `[web] private_feeds`, the URL carries the unit's token from the store (created
    there if the unit has none yet; see `scheduler.tokens`).
    """
    return config.web.base_url + unit_feed_path(unit_id, _unit_token(config, unit_id))


def unit_subscribe_url(config: Config, unit_id: str) -> str:
    """The URL of the page explaining how a unit subscribes (private token respected)."""
    return config.web.base_url + unit_subscribe_path(unit_id, _unit_token(config, unit_id))


def feed_url(config: Config, path: str) -> str:
    """The URL of the feed at `path` below /feeds/ (`all.ics`, `kinds/deadline.ics`, ...)."""
    return f"{config.web.base_url}/feeds/{path}"


def index_url(config: Config) -> str:
    """The index page."""
    return config.web.base_url + "/"

"""The aiohttp web server: feeds, the index page, units' subscribe pages
(`scheduler.pages.subscribe`) and /healthz (FEEDS.md, "HTTP").

GET and HEAD only (PUT, DELETE, PROPFIND, MKCALENDAR ... → 405); strong ETags and
Last-Modified with 304 answers; gzip only when the client asks; 503 + Retry-After
until the first feeds are built, never a 200 with an empty body; `Authorization` is
ignored and nothing answers 401. A rotated private-feed token answers 410 Gone.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from aiohttp import web

from scheduler.clock import Clock, SystemClock
from scheduler.config import Config
from scheduler.connections import (
    GUARD_KEY,
    ConnectionGuard,
    connection_limit,
    raise_fd_limit,
    server_options,
)
from scheduler.feeds import Feed, FeedSet
from scheduler.feeds.index import WEB_UNIT_LIMIT, render_index
from scheduler.pages.subscribe import find_unit, render_subscribe

RETRY_AFTER_SECONDS = 30
ALLOWED = "GET, HEAD, OPTIONS"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
MAX_QUERY = 100

# A deep accept queue: under a connection flood a new client's SYN is queued, not dropped
# (a dropped SYN is retried only after a second).
LISTEN_BACKLOG = 4096

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebState:
    """What the server shows: the current FeedSet (None until built) and a health hook."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.feedset: FeedSet | None = None
        self.clock = clock
        self.health: Callable[[], dict[str, Any]] = dict
        self._index: dict[date, bytes] = {}

    def set_feeds(self, feedset: FeedSet) -> None:
        """Serve `feedset` from now on (the daemon calls this after every rebuild)."""
        self.feedset = feedset
        self._index = {}

    def today(self, config: Config) -> date:
        clock = self.clock or SystemClock(config.timezone)
        return clock.now().date()

    def index_page(self, feedset: FeedSet, query: str) -> bytes:
        today = self.today(feedset.config)
        if query:
            return render_index(feedset.config, feedset, today, query, WEB_UNIT_LIMIT,
                                subscribe_pages=True)
        page = self._index.get(today)
        if page is None:
            page = render_index(feedset.config, feedset, today, None, WEB_UNIT_LIMIT,
                                subscribe_pages=True)
            self._index = {today: page}
        return page


STATE_KEY = web.AppKey("lichnhac_web_state", WebState)


def _text(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain",
                        charset="utf-8", headers=headers)


def _not_ready() -> web.Response:
    return _text(503, "Lịch đang được chuẩn bị, vui lòng thử lại sau.",
                 **{"Retry-After": str(RETRY_AFTER_SECONDS)})


def _method_not_allowed() -> web.Response:
    return _text(405, "Phương thức không được hỗ trợ: chỉ GET và HEAD.", Allow=ALLOWED)


def _options() -> web.Response:
    return web.Response(status=204, headers={"Allow": ALLOWED})


_HTTP_DATES: dict[datetime, str] = {}


def _http_date(moment: datetime) -> str:
    """`Wed, 10 Jun 2026 01:00:00 GMT`; remembered, since feeds share few distinct dates
    and formatting one costs more than the rest of a feed's headers."""
    text = _HTTP_DATES.get(moment)
    if text is None:
        if len(_HTTP_DATES) >= 4096:
            _HTTP_DATES.clear()
        text = _HTTP_DATES[moment] = format_datetime(
            moment.astimezone(UTC).replace(microsecond=0), usegmt=True)
    return text


def _wants_gzip(header: str) -> bool:
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        quality = params.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _etag_matches(header: str, etags: tuple[str, ...]) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2)."""
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        if tag.removeprefix("W/") in etags:
            return True
    return False


def _not_modified_since(header: str, last_modified: datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return last_modified.replace(microsecond=0) <= since


def feed_response(request: web.Request, feed: Feed) -> web.Response:
    """200, 304 or gzip: the one place a feed meets HTTP."""
    gzip_etag = feed.etag[:-1] + '-gzip"'
    use_gzip = _wants_gzip(request.headers.get("Accept-Encoding", ""))
    etag = gzip_etag if use_gzip else feed.etag
    headers = {
        "ETag": etag,
        "Last-Modified": _http_date(feed.last_modified),
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        fresh = _etag_matches(if_none_match, (feed.etag, gzip_etag))
    else:
        since = request.headers.get("If-Modified-Since")
        fresh = since is not None and _not_modified_since(since, feed.last_modified)
    if fresh:
        return web.Response(status=304, headers=headers)
    body = feed.gzipped() if use_gzip else feed.body
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = CALENDAR_TYPE
    return web.Response(status=200, body=body, headers=headers)


def _built_feeds(request: web.Request) -> FeedSet | web.Response:
    """The feeds a GET or HEAD reads, or the answer to give instead: OPTIONS, 405 for any
    other method, 503 until the first build."""
    if request.method == "OPTIONS":
        return _options()
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed()
    feedset = request.app[STATE_KEY].feedset
    return _not_ready() if feedset is None else feedset


async def _feed(request: web.Request) -> web.StreamResponse:
    feedset = _built_feeds(request)
    if not isinstance(feedset, FeedSet):
        return feedset
    path = request.match_info["path"]
    feed = feedset.feeds.get(path)
    if feed is None:
        if feedset.is_revoked(path):
            return _text(410, "Địa chỉ lịch này đã được thay. Hãy dùng địa chỉ mới trong "
                              "email nhắc việc gần nhất.")
        return _text(404, "Không có lịch ở địa chỉ này.")
    return feed_response(request, feed)


async def _index(request: web.Request) -> web.StreamResponse:
    feedset = _built_feeds(request)
    if not isinstance(feedset, FeedSet):
        return feedset
    state = request.app[STATE_KEY]
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    body = state.index_page(feedset, query)
    return web.Response(body=body, headers={"Content-Type": HTML_TYPE,
                                            "Cache-Control": "no-cache",
                                            "X-Content-Type-Options": "nosniff"})


async def _subscribe(request: web.Request) -> web.StreamResponse:
    """A unit's subscribe page: exists exactly when its feed does (private token included)."""
    feedset = _built_feeds(request)
    if not isinstance(feedset, FeedSet):
        return feedset
    path = request.match_info["path"]
    entry = find_unit(feedset, path)
    if entry is None:
        if feedset.is_revoked(path):
            return _text(410, "Địa chỉ này đã được thay. Hãy dùng liên kết trong email nhắc "
                              "việc gần nhất.")
        return _text(404, "Không có trang đăng ký ở địa chỉ này.")
    body = render_subscribe(feedset.config, entry, feedset.private)
    return web.Response(body=body, headers={"Content-Type": HTML_TYPE,
                                            "Cache-Control": "no-cache",
                                            "X-Robots-Tag": "noindex",
                                            "X-Content-Type-Options": "nosniff"})


async def _healthz(request: web.Request) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed()
    state = request.app[STATE_KEY]
    feedset = state.feedset
    document: dict[str, Any] = {"status": "starting" if feedset is None else "ok"}
    if feedset is not None:
        document.update(feeds=len(feedset.feeds), units=len(feedset.units),
                        occurrences=len(feedset.occurrences),
                        built_on=feedset.built_on.isoformat(),
                        window=[d.isoformat() for d in feedset.window],
                        private_feeds=feedset.private, oversized=list(feedset.oversized))
    document.update(state.health())
    status = 200 if feedset is not None else 503
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else {}
    return web.Response(status=status, text=json.dumps(document, ensure_ascii=False),
                        content_type="application/json", headers=headers)


@web.middleware
async def _not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Our own wording for paths no route knows (other modules may add routes later)."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _text(404, "Không có trang hoặc lịch ở địa chỉ này.")


def create_app(state: WebState, config: Config, healthz: bool = True) -> web.Application:
    """The application: `/`, `/feeds/...`, `/subscribe/...`, `/healthz` (unless a serving
    worker's, which passes it on); the daemon may add routes."""
    app = web.Application(middlewares=[_not_found])
    app[STATE_KEY] = state
    app.router.add_route("*", "/", _index)
    if healthz:
        app.router.add_route("*", "/healthz", _healthz)
    app.router.add_route("*", "/feeds/{path:.+}", _feed)
    app.router.add_route("*", "/subscribe/{path:.+}", _subscribe)
    return app


async def start_server(app: web.Application, host: str, port: int,
                       sockets: Sequence[socket.socket] = (), unix_path: str | None = None,
                       ) -> web.AppRunner:
    """Listen on host:port (0: any free port); the caller cleans up the runner.

    With `sockets` (a serving worker's own, already bound: `scheduler.workers`) or
    `unix_path` (the main process behind them), serve those instead of host:port.
    Idle and slow connections time out and the number held is capped
    (`scheduler.connections`); the guard is `app[GUARD_KEY]`.
    """
    guard = ConnectionGuard(connection_limit(raise_fd_limit()), _method_not_allowed)
    app[GUARD_KEY] = guard
    app.middlewares.append(guard.middleware)
    app.on_cleanup.append(guard.stop)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, **server_options())
    await runner.setup()
    assert runner.server is not None
    guard.install(runner.server)
    guard.start()
    sites: list[web.BaseSite] = [web.SockSite(runner, sock, backlog=LISTEN_BACKLOG)
                                 for sock in sockets]
    if unix_path is not None:
        sites.append(web.UnixSite(runner, unix_path, backlog=LISTEN_BACKLOG))
    if not sites:
        sites.append(web.TCPSite(runner, host, port, reuse_address=True,
                                 backlog=LISTEN_BACKLOG))
    try:
        for site in sites:
            await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port the runner listens on (useful after asking for port 0)."""
    address = runner.addresses[0]
    return int(address[1])

"""The web server's HTTP behaviour (FEEDS.md, "HTTP"), against the real aiohttp server."""

from __future__ import annotations

import gzip
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from feedtools import TODAY, ServerThread, running, shipped_config

from scheduler.config import Config
from scheduler.feeds import FeedSet, build_feedset
from scheduler.links import unit_feed_url
from scheduler.tokens import ROTATE_FILE
from scheduler.web import WebState


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def request(server: ServerThread, method: str, path: str, **headers: str) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        reply = Reply(response.status, response.headers, response.read())
    finally:
        connection.close()
    assert reply.status != 401  # never, whatever we send
    assert reply.status != 200 or method == "HEAD" or reply.body, "a 200 with no body"
    return reply


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return shipped_config(tmp_path)


@pytest.fixture
def served(config: Config) -> Iterator[tuple[ServerThread, FeedSet]]:
    feeds = build_feedset(config, TODAY, config.state_dir)
    state = WebState()
    state.set_feeds(feeds)
    with running(state, config) as server:
        yield server, feeds


def test_not_ready_answers_503_with_retry_after_never_an_empty_200(config: Config) -> None:
    state = WebState()
    with running(state, config) as server:
        for path in ("/feeds/all.ics", "/feeds/units/tram-y-te.ics", "/"):
            for method in ("GET", "HEAD"):
                reply = request(server, method, path)
                assert reply.status == 503 and reply.headers["Retry-After"] == "30"
        health = request(server, "GET", "/healthz")
        assert health.status == 503 and json.loads(health.body)["status"] == "starting"
        state.set_feeds(build_feedset(config, TODAY, config.state_dir))
        assert request(server, "GET", "/feeds/all.ics").status == 200


def test_get_serves_the_feed_bytes_as_text_calendar(
        served: tuple[ServerThread, FeedSet]) -> None:
    server, feeds = served
    for path in ("all.ics", "units/tram-y-te.ics", "kinds/deadline.ics"):
        reply = request(server, "GET", f"/feeds/{path}")
        feed = feeds.feeds[path]
        assert reply.status == 200
        assert reply.body == feed.body
        assert reply.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert "Content-Disposition" not in reply.headers
        assert "Content-Encoding" not in reply.headers
        assert reply.headers["ETag"] == feed.etag and not feed.etag.startswith("W/")
        assert parsedate_to_datetime(reply.headers["Last-Modified"]) == feed.last_modified


def test_head_gives_the_headers_of_get_without_a_body(
        served: tuple[ServerThread, FeedSet]) -> None:
    server, feeds = served
    reply = request(server, "HEAD", "/feeds/units/hoi-lhpn.ics")
    feed = feeds.feeds["units/hoi-lhpn.ics"]
    assert reply.status == 200 and reply.body == b""
    assert int(reply.headers["Content-Length"]) == len(feed.body)
    assert reply.headers["ETag"] == feed.etag


def test_conditional_get_answers_304(served: tuple[ServerThread, FeedSet]) -> None:
    server, feeds = served
    path = "/feeds/all.ics"
    feed = feeds.feeds["all.ics"]
    stamp = reply_stamp = request(server, "GET", path).headers["Last-Modified"]
    same = request(server, "GET", path, **{"If-None-Match": feed.etag})
    assert same.status == 304 and same.body == b"" and same.headers["ETag"] == feed.etag
    assert request(server, "GET", path, **{"If-None-Match": f'"x", {feed.etag}'}).status == 304
    assert request(server, "GET", path, **{"If-None-Match": '"other"'}).status == 200
    assert request(server, "GET", path, **{"If-Modified-Since": stamp}).status == 304
    earlier = format_datetime(parsedate_to_datetime(reply_stamp).replace(year=2020),
                              usegmt=True)
    assert request(server, "GET", path, **{"If-Modified-Since": earlier}).status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
    mixed = request(server, "GET", path, **{"If-None-Match": '"other"',
                                             "If-Modified-Since": stamp})
    assert mixed.status == 200
    assert request(server, "HEAD", path, **{"If-None-Match": feed.etag}).status == 304
    assert request(server, "GET", path, **{"If-Modified-Since": "garbage"}).status == 200


def test_gzip_only_when_asked(served: tuple[ServerThread, FeedSet]) -> None:
    server, feeds = served
    body = feeds.feeds["all.ics"].body
    zipped = request(server, "GET", "/feeds/all.ics", **{"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == body
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert zipped.headers["ETag"] != feeds.feeds["all.ics"].etag  # another representation
    again = request(server, "GET", "/feeds/all.ics", **{"Accept-Encoding": "gzip",
                                                        "If-None-Match": zipped.headers["ETag"]})
    assert again.status == 304
    for header in ("identity", "gzip;q=0", "br"):
        plain = request(server, "GET", "/feeds/all.ics", **{"Accept-Encoding": header})
        assert "Content-Encoding" not in plain.headers and plain.body == body


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PROPFIND", "MKCALENDAR", "POST",
                                    "REPORT", "PATCH"])
def test_writing_and_dav_methods_answer_405(served: tuple[ServerThread, FeedSet],
                                            method: str) -> None:
    server, _ = served
    for path in ("/feeds/all.ics", "/feeds/units/tram-y-te.ics", "/"):
        reply = request(server, method, path)
        assert reply.status == 405
        assert reply.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_unknown_paths_answer_404_with_a_message(served: tuple[ServerThread, FeedSet]) -> None:
    server, _ = served
    for path in ("/feeds/units/khong-co.ics", "/feeds/kinds/other.ics", "/feeds/all",
                 "/feeds/../config.toml", "/nothing-here", "/feeds/units/tram-y-te.ics/x"):
        reply = request(server, "GET", path)
        assert reply.status == 404, path
        assert "Không" in reply.body.decode("utf-8")


def test_authorization_is_ignored(served: tuple[ServerThread, FeedSet]) -> None:
    server, feeds = served
    reply = request(server, "GET", "/feeds/all.ics", Authorization="Basic dXNlcjpwYXNz")
    assert reply.status == 200 and reply.body == feeds.feeds["all.ics"].body
    assert "WWW-Authenticate" not in reply.headers


def test_healthz_reports_the_feeds_and_the_daemon_hook(config: Config) -> None:
    state = WebState()
    state.health = lambda: {"ledger": "ok"}
    state.set_feeds(build_feedset(config, TODAY, config.state_dir))
    with running(state, config) as server:
        reply = request(server, "GET", "/healthz")
    document = json.loads(reply.body)
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("application/json")
    assert document["status"] == "ok" and document["ledger"] == "ok"
    assert document["feeds"] == 16 and document["units"] == 11


def test_set_feeds_swaps_what_is_served(config: Config) -> None:
    state = WebState()
    state.set_feeds(build_feedset(config, TODAY, config.state_dir))
    with running(state, config) as server:
        before = request(server, "GET", "/feeds/units/tram-y-te.ics")
        renamed = replace(config, units=tuple(replace(u, name="Trạm Y tế (mới)")
                                              if u.id == "tram-y-te" else u
                                              for u in config.units))
        state.set_feeds(build_feedset(renamed, TODAY, config.state_dir))
        after = request(server, "GET", "/feeds/units/tram-y-te.ics",
                        **{"If-None-Match": before.headers["ETag"]})
    assert after.status == 200 and "Trạm Y tế (mới)".encode() in after.body


def test_private_feeds_need_the_token_and_a_rotated_token_answers_410(config: Config) -> None:
    private = replace(config, web=replace(config.web, private_feeds=True))
    state = WebState()
    state.set_feeds(build_feedset(private, TODAY, private.state_dir))
    with running(state, private) as server:
        url = unit_feed_url(private, "tram-y-te")
        path = urlsplit(url).path
        token = path.split("/")[2]
        assert len(token) >= 22 and path.endswith("/units/tram-y-te.ics")  # ≥ 128 bits
        assert len(url) <= 256
        assert request(server, "GET", path).status == 200
        assert request(server, "GET", "/feeds/units/tram-y-te.ics").status == 404
        assert request(server, "GET", f"/feeds/{token}/units/hoi-lhpn.ics").status == 404
        assert request(server, "GET", "/feeds/all.ics").status == 200  # shared feeds stay public

        (private.state_dir / ROTATE_FILE).write_text("tram-y-te\n", encoding="utf-8")
        state.set_feeds(build_feedset(private, TODAY, private.state_dir))
        new_path = urlsplit(unit_feed_url(private, "tram-y-te")).path
        assert new_path != path
        gone = request(server, "GET", path)
        assert gone.status == 410 and gone.body
        assert request(server, "GET", new_path).status == 200
        assert not (private.state_dir / ROTATE_FILE).exists()
        other = urlsplit(unit_feed_url(private, "hoi-lhpn")).path
        assert request(server, "GET", other).status == 200  # only the named unit rotated

        fewer = replace(private, units=tuple(u for u in private.units if u.id != "hoi-lhpn"))
        state.set_feeds(build_feedset(fewer, TODAY, private.state_dir))
        assert request(server, "GET", other).status == 410  # a removed unit's URL is gone
        index = request(server, "GET", "/").body.decode()
    assert new_path.split("/")[2] not in index  # tokens are never published


def test_rotating_every_token_at_once(config: Config) -> None:
    private = replace(config, web=replace(config.web, private_feeds=True))
    first = build_feedset(private, TODAY, private.state_dir)
    (private.state_dir / ROTATE_FILE).write_text("all\n", encoding="utf-8")
    second = build_feedset(private, TODAY, private.state_dir)
    for unit in private.units:
        old = first.unit_path(unit.id)
        assert second.unit_path(unit.id) != old and second.is_revoked(old)
        assert second.feeds[second.unit_path(unit.id)].body == first.feeds[old].body


def test_unit_feed_url_is_the_served_public_url(served: tuple[ServerThread, FeedSet],
                                               config: Config) -> None:
    server, feeds = served
    url = unit_feed_url(config, "truong-mam-non")
    assert url == "http://127.0.0.1:8080/feeds/units/truong-mam-non.ics"
    reply = request(server, "GET", urlsplit(url).path)
    assert reply.status == 200 and reply.body == feeds.feeds["units/truong-mam-non.ics"].body

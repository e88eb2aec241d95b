"""The index page, loaded by headless Chromium from the running server; its subscribe
links are followed or decoded and checked. The page carries no script at all."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from feedtools import TODAY, running, shipped_config
from test_web import request

from scheduler.feeds import build_feedset
from scheduler.model import Unit
from scheduler.web import WebState

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def dump_dom(url: str, profile: Path) -> str:
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


class Page(HTMLParser):
    """Unit cards: their id, code URL and link hrefs by class."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.row: dict[str, str] | None = None
        self.in_code = False
        self.bold = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "li" and "unit" in a.get("class", "").split():
            self.row = self.rows.setdefault(a["id"], {})
        if tag == "code" and self.row is not None:
            self.in_code = True
        if tag == "a" and self.row is not None:
            self.row[a["class"]] = a["href"]
        if tag == "b":
            self.bold += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.row = None
        if tag == "code":
            self.in_code = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.in_code and self.row is not None:
            self.row["url"] = self.row.get("url", "") + data


def test_index_page_in_chromium_lists_every_unit_with_working_subscribe_links(
        tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    tricky = Unit(id="doi-thu", name='<b>Đội "thử" & <i>nghiệm</i></b>', groups=("offices",))
    config = replace(config, units=(*config.units, tricky))
    state = WebState()
    with running(state, config) as server:
        config = replace(config, web=replace(config.web, base_url=server.base))
        feeds = build_feedset(config, TODAY, config.state_dir)
        state.set_feeds(feeds)
        served = request(server, "GET", "/").body.decode()
        assert "<script" not in served.lower()  # works without JavaScript
        html = dump_dom(server.base + "/", tmp_path / "profile")
        page = Page()
        page.feed(html)
        text = "".join(page.text)
        assert "Lịch khác → + → Từ URL" in text
        assert "Sắp diễn ra" in text
        assert page.bold == 0, "a unit name was not escaped"
        assert '<b>Đội "thử" & <i>nghiệm</i></b>' in text
        assert set(page.rows) == {f"u-{u.id}" for u in config.units}
        for unit in config.units:
            row = page.rows[f"u-{unit.id}"]
            url = f"{server.base}/feeds/units/{unit.id}.ics"
            assert row["url"] == url
            assert row["webcal"] == url.replace("http://", "webcal://", 1)
            for key, host in (("outlook-live", "outlook.live.com"),
                              ("outlook-365", "outlook.office.com")):
                link = urlsplit(row[key])
                assert link.scheme == "https" and link.netloc == host
                assert link.path == "/calendar/0/addfromweb"
                query = parse_qs(link.query)
                assert query["url"] == [url] and query["name"] == [unit.name]
            reply = request(server, "GET", urlsplit(url).path)
            assert reply.status == 200
            assert reply.body == feeds.feeds[f"units/{unit.id}.ics"].body


def test_index_search_filters_units(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    state = WebState()
    state.set_feeds(build_feedset(config, TODAY, config.state_dir))
    with running(state, config) as server:
        page = request(server, "GET", "/?q=tr%C6%B0%E1%BB%9Dng").body.decode()  # "trường"
        assert page.count('class="feed unit"') == 3 and "Trường Mầm non Hòa An" in page
        assert "Công an xã" not in page
        assert request(server, "HEAD", "/").status == 200

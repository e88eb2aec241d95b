"""What an officer sees, in headless Chromium (playwright driving /usr/bin/chromium, no
browser download): the index page, a unit's subscribe page and a reminder email received
over real SMTP, each at a phone's 390 px and a desktop's 1280 px — no horizontal
scrolling, and the links each must carry. The email's links must be the ones the unit's
subscribe page and the index page offer.

Screenshots go to `$LICHNHAC_SCREENSHOTS` if set (to look at them), else the test's
temp dir.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from feedtools import running
from playwright.sync_api import Browser, Page, sync_playwright
from test_web import request

from scheduler.clock import FixedClock
from scheduler.config import Config, load_config
from scheduler.feeds import build_feedset
from scheduler.mail.render import MessageRenderer
from scheduler.reminders import plan_reminders
from scheduler.store import message_token
from scheduler.store.documents import documents
from scheduler.tokens import unit_token
from scheduler.web import WebState
from tests.conftest import run_cli
from tests.smtp_helpers import SmtpServer, shipped_config_copy

CHROMIUM = "/usr/bin/chromium"
WIDTHS = (390, 1280)
# 10/12/2028, the annual report's deadline, is a Sunday: the upcoming list must say so.
TODAY = date(2028, 11, 20)
LONG_NAME = ("Trung tâm Phục vụ hành chính công và Chuyển đổi số phường "
             "Nguyễn Nghiêm (Ủy ban nhân dân phường)")

LINKS_JS = """(root) => {
  const out = {};
  for (const a of root.querySelectorAll('a[class]')) {
    for (const c of a.classList) out[c] = a.getAttribute('href');
  }
  const url = root.querySelector('.url');
  out.url = url ? url.textContent.trim() : null;
  return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield launched
        finally:
            launched.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LICHNHAC_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fits(page: Page, width: int, shot: Path) -> None:
    """No horizontal scrolling at `width`; a full-page screenshot to look at."""
    page.set_viewport_size({"width": width, "height": 900})
    scroll, inner = page.evaluate(
        "[Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),"
        " window.innerWidth]")
    page.screenshot(path=str(shot), full_page=True)
    assert inner == width
    assert scroll <= inner, f"{shot.name}: {scroll} px wide in a {inner} px window"


def _links(page: Page, selector: str = "body") -> dict[str, Any]:
    result = page.eval_on_selector(selector, LINKS_JS)
    assert isinstance(result, dict)
    return result


def _check_outlook(link: str, host: str, feed: str, name: str) -> None:
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", host, "/calendar/0/addfromweb")
    assert parse_qs(parts.query) == {"url": [feed], "name": [name]}


def _deployment(tmp_path: Path, port: int, private: bool = False) -> tuple[Path, Config]:
    """The shipped example with a unit whose name is long, SMTP to `port`."""
    path = shipped_config_copy(tmp_path, transport="smtp", port=port)
    text = path.read_text(encoding="utf-8")
    text += ('\n[[unit]]\nid = "trung-tam-phuc-vu"\n'
             f'name = "{LONG_NAME}"\nemail = ["ttpv@hoaan.example.gov.vn"]\n'
             'groups = ["offices"]\n')
    if private:
        text = text.replace("private_feeds = false", "private_feeds = true")
    path.write_text(text, encoding="utf-8")
    return path, load_config(path)


def _serve(config: Config, base: str) -> Config:
    return replace(config, web=replace(config.web, base_url=base))


def _point_at(path: Path, base: str) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^base_url = "[^"]*"', f'base_url = "{base}"', text)
    path.write_text(text, encoding="utf-8")


def test_index_page_fits_a_phone_and_a_desktop_with_every_units_links(
        tmp_path: Path, browser: Browser) -> None:
    _, config = _deployment(tmp_path, 25)
    state = WebState(FixedClock(datetime(2028, 11, 20, 9, tzinfo=config.timezone)))
    with running(state, config) as server:
        config = _serve(config, server.base)
        state.set_feeds(build_feedset(config, TODAY, config.state_dir))
        page = browser.new_page()
        page.goto(server.base + "/")
        for width in (360, *WIDTHS):  # the smallest phones too
            _fits(page, width, _shots(tmp_path) / f"index-{width}.png")
        text = page.inner_text("body")
        assert "Thứ Tư, 15/11/2028 – Thứ Sáu, 15/12/2028" in text  # each end its weekday
        assert "Lưu ý: hạn 10/12/2028 rơi vào Chủ nhật; đề nghị hoàn thành trước ngày làm " \
               "việc liền trước, Thứ Sáu, 08/12/2028" in text
        cards = page.eval_on_selector_all("li.unit", "els => els.map(e => e.id)")
        assert cards == [f"u-{u.id}" for u in config.units]
        for unit in config.units:
            links = _links(page, f"#u-{unit.id}")
            feed = f"{server.base}/feeds/units/{unit.id}.ics"
            assert links["url"] == feed
            assert links["webcal"] == feed.replace("http://", "webcal://", 1)
            _check_outlook(links["outlook-live"], "outlook.live.com", feed, unit.name)
            _check_outlook(links["outlook-365"], "outlook.office.com", feed, unit.name)
            assert links["subscribe-page"] == f"/subscribe/units/{unit.id}"

        # The unit search: without diacritics, any case, by abbreviation; count, show all.
        for query, expected in (("phu nu", ["hoi-lhpn"]), ("PHU NU", ["hoi-lhpn"]),
                                ("ldtbxh", ["phong-van-hoa-xa-hoi"]),
                                ("lđtbxh", ["phong-van-hoa-xa-hoi"])):
            page.goto(f"{server.base}/?q={query}")
            found = page.eval_on_selector_all("li.unit", "els => els.map(e => e.id)")
            assert found == [f"u-{u}" for u in expected], query
            assert page.inner_text("#ket-qua").startswith(f"Tìm thấy {len(expected)} đơn vị")
            page.click("#tat-ca")
            page.wait_for_load_state()
            assert len(page.query_selector_all("li.unit")) == len(config.units)
            assert page.inner_text("#ket-qua") == f"{len(config.units)} đơn vị."
        page.goto(f"{server.base}/?q=phu nu")
        _fits(page, 390, _shots(tmp_path) / "index-search-390.png")
        page.close()


def _received_html(server: SmtpServer, unit: str) -> tuple[EmailMessage, str]:
    for item in server.received:
        message = item.message()
        if str(message["X-Lichnhac-Digest"]).endswith("/" + unit):
            part = message.get_body(("html",))
            assert part is not None
            html = part.get_content()
            assert isinstance(html, str)
            return message, html
    raise AssertionError(f"no email for {unit}")


def test_a_received_emails_links_are_what_the_subscribe_page_offers(
        tmp_path: Path, browser: Browser) -> None:
    with SmtpServer() as smtp:
        path, config = _deployment(tmp_path, smtp.port)
        state = WebState(FixedClock(datetime(2028, 12, 5, 9, tzinfo=config.timezone)))
        with running(state, config) as server:
            _point_at(path, server.base)
            config = load_config(path)
            state.set_feeds(build_feedset(config, date(2028, 12, 5), config.state_dir))
            result = run_cli("--config", str(path), "simulate", "--live",
                             "--from", "2028-12-07", "--to", "2028-12-08", timeout=120)
            assert result.status == 0, result.stderr
            unit = "trung-tam-phuc-vu"
            message, html = _received_html(smtp, unit)
            assert str(message["Subject"]).startswith("[Nhắc việc]")
            feed = f"{server.base}/feeds/units/{unit}.ics"

            page = browser.new_page()
            page.set_content(html)
            for width in WIDTHS:
                _fits(page, width, _shots(tmp_path) / f"email-{width}.png")
            mail = _links(page)
            assert mail["url"] == feed
            assert "Thứ Sáu, 08/12/2028" in page.inner_text("body")

            page.goto(mail["subscribe-page"])
            assert page.url == f"{server.base}/subscribe/units/{unit}"
            for width in WIDTHS:
                _fits(page, width, _shots(tmp_path) / f"subscribe-{width}.png")
            offered = _links(page)
            assert page.inner_text("#don-vi") == LONG_NAME
            for key in ("webcal", "outlook-live", "outlook-365", "url"):
                assert mail[key] == offered[key], key
            assert offered["webcal"] == feed.replace("http://", "webcal://", 1)
            _check_outlook(offered["outlook-live"], "outlook.live.com", feed, LONG_NAME)
            _check_outlook(offered["outlook-365"], "outlook.office.com", feed, LONG_NAME)
            page.goto(server.base + "/")
            index = _links(page, f"#u-{unit}")
            for key in ("webcal", "outlook-live", "outlook-365", "url"):
                assert index[key] == offered[key], key
            assert request(server, "GET", urlsplit(feed).path).status == 200
            page.close()


def test_a_private_units_subscribe_page_is_only_at_its_unguessable_url(
        tmp_path: Path, browser: Browser) -> None:
    _, config = _deployment(tmp_path, 25, private=True)
    state = WebState(FixedClock(datetime(2028, 12, 5, 9, tzinfo=config.timezone)))
    with running(state, config) as server:
        config = _serve(config, server.base)
        state.set_feeds(build_feedset(config, date(2028, 12, 5), config.state_dir))
        unit = "tram-y-te"
        token = unit_token(documents(config), config.state_dir, unit,
                           [u.id for u in config.units])
        assert len(token) == 24
        assert request(server, "GET", f"/subscribe/units/{unit}").status == 404
        assert request(server, "GET", f"/subscribe/{'A' * 24}/units/{unit}").status == 404
        assert request(server, "GET", f"/subscribe/{token}/units/{unit}").status == 200

        digest = next(d for d in plan_reminders(config, date(2028, 12, 7), date(2028, 12, 8))
                      if d.unit == unit)
        tokens = message_token(digest.key, [i.key for i in digest.items])
        message = MessageRenderer(config).render(digest, tokens, digest.send_at)
        part = message.get_body(("html",))
        assert part is not None
        page = browser.new_page()
        page.set_content(part.get_content())
        mail = _links(page)
        feed = f"{server.base}/feeds/{token}/units/{unit}.ics"
        assert mail["url"] == feed
        assert mail["subscribe-page"] == f"{server.base}/subscribe/{token}/units/{unit}"
        page.goto(mail["subscribe-page"])
        for width in WIDTHS:
            _fits(page, width, _shots(tmp_path) / f"subscribe-private-{width}.png")
        offered = _links(page)
        for key in ("webcal", "outlook-live", "outlook-365", "url"):
            assert mail[key] == offered[key], key
        assert "không chia sẻ" in page.inner_text("#dia-chi-rieng")
        page.goto(server.base + "/")
        assert page.query_selector_all("li.unit") == []
        assert token not in page.content()
        page.close()

        # Rotating the token: the old page answers 410 Gone, like the old feed.
        (config.state_dir / "feed-tokens.rotate").write_text(unit + "\n")
        state.set_feeds(build_feedset(config, date(2028, 12, 5), config.state_dir))
        assert request(server, "GET", f"/subscribe/{token}/units/{unit}").status == 410


"""The follow-up pages over a real aiohttp server on loopback: GET and HEAD never change
the ledger (a link scanner opening 1,000 links), POSTs are protected from cross-site
submission, refused links get Vietnamese 403/410 pages, the register confirms for a unit
and serves CSV/XLSX."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from followup_helpers import DUE, EVENT, write_followup_deployment
from openpyxl import load_workbook

from scheduler.clock import FixedClock
from scheduler.config import Config, load_config
from scheduler.followup.links import confirm_claim, register_token
from scheduler.followup.signing import LinkClaim, load_secrets, sign
from scheduler.followup.site import FollowupSite
from scheduler.store import open_store
from scheduler.store.documents import documents
from scheduler.store.sqlite import SqliteStore
from scheduler.web import WebState, create_app, start_server

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime.combine(DUE + timedelta(days=1), time(9), tzinfo=VN)


def _many_units_config(directory: Path, units: int) -> Path:
    path = write_followup_deployment(directory)
    extra = "".join(f'\n[[unit]]\nid = "don-vi-{i:04d}"\nname = "Đơn vị số {i}"\n'
                    f'email = ["dv{i}@hoaan.example.gov.vn"]\n' for i in range(units))
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    calendar = directory / "calendar.toml"
    calendar.write_text(calendar.read_text(encoding="utf-8") + "".join(
        f'\n[[event]]\nid = "bao-cao-quy-{q}"\ntitle = "Báo cáo quý {q}"\nkind = "deadline"\n'
        f'date = "2026-{3 * q:02d}-15"\nunits = ["all"]\nlead_days = [1]\n'
        for q in (2, 3, 4)), encoding="utf-8")
    return path


class Server:
    def __init__(self, config: Config, ledger: SqliteStore, clock: FixedClock) -> None:
        self.config, self.ledger, self.clock = config, ledger, clock
        self.site = FollowupSite(config, ledger, clock)
        self.url = ""

    def confirm_url(self, unit: str, event: str = EVENT, due: date = DUE) -> str:
        token = sign(load_secrets(documents(self.config), self.config.state_dir).current,
                     confirm_claim(self.config, unit, event, due))
        return f"{self.url}/xac-nhan/{token}"

    def dump(self) -> list[str]:
        return list(self.ledger.db.iterdump())


@contextlib.asynccontextmanager
async def serving(directory: Path) -> AsyncIterator[Server]:
    config = load_config(_many_units_config(directory, 250))
    with open_store(config) as ledger:
        assert isinstance(ledger, SqliteStore)
        srv = Server(config, ledger, FixedClock(NOW))
        app = create_app(WebState(srv.clock), config)
        srv.site.install(app)
        runner = await start_server(app, "127.0.0.1", 0)
        port = runner.addresses[0][1]
        srv.url = f"http://127.0.0.1:{port}"
        try:
            yield srv
        finally:
            await runner.cleanup()


def with_server(body: Callable[[Server], Awaitable[None]], directory: Path) -> None:
    """Run `body` against a fresh server (no pytest-asyncio: one loop per test)."""

    async def run() -> None:
        async with serving(directory) as srv:
            await asyncio.wait_for(body(srv), timeout=300)

    asyncio.run(run())


async def _text(response: aiohttp.ClientResponse) -> str:
    return await response.text()


def test_a_link_scanner_opening_1000_links_changes_nothing(tmp_path: Path) -> None:
    async def body(server: Server) -> None:
        units = [u.id for u in server.config.units if u.id != "phong-vhxh"]
        occurrences = [(EVENT, DUE)] + [(f"bao-cao-quy-{q}", date(2026, 3 * q, 15))
                                        for q in (2, 3, 4)]
        links = [server.confirm_url(unit, event, due) for unit in units for event, due in
                 occurrences][:1000]
        assert len(links) == 1000
        before = server.dump()
        queries = ["", "?utm_source=mail", "?action=confirm&ref=x", "?token=abc&action=undo"]
        statuses: dict[int, int] = {}
        async with aiohttp.ClientSession() as session:
            semaphore = asyncio.Semaphore(16)

            async def scan(url: str, method: str) -> None:
                async with semaphore, session.request(method, url) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1

            await asyncio.gather(*(scan(link + queries[i % 4], method)
                                   for i, link in enumerate(links) for method in ("GET", "HEAD")))
        assert statuses == {200: 2000}
        assert server.dump() == before
        assert server.ledger.confirmation_count() == 0

    with_server(body, tmp_path / "d")


def test_confirm_post_records_and_undo_withdraws(tmp_path: Path) -> None:
    async def body(server: Server) -> None:
        url = server.confirm_url("phong-b")
        token = url.rsplit("/", 1)[1]
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as response:
                page = await _text(response)
            assert response.status == 200
            assert "Phòng B" in page and "19/06/2026" in page and "Chưa xác nhận" in page
            assert response.headers["Referrer-Policy"] == "no-referrer"
            form = {"token": token, "action": "confirm", "ref": "Báo cáo số 12/BC-UBND"}
            async with session.post(url, data=form, headers={"Origin": server.url}) as response:
                page = await _text(response)
            assert response.status == 200 and "Đã ghi nhận" in page and "Đã xác nhận" in page
            [confirmation] = server.ledger.confirmations(DUE, DUE)
            assert (confirmation.unit, confirmation.by, confirmation.ref) == (
                "phong-b", "unit", "Báo cáo số 12/BC-UBND")
            async with session.post(url, data=form) as response:   # twice: harmless
                assert response.status == 200
            assert len(server.ledger.confirmations(DUE, DUE)) == 1
            async with session.post(url, data={"token": token, "action": "undo"}) as response:
                page = await _text(response)
            assert response.status == 200 and "Đã hủy xác nhận" in page
            assert server.ledger.confirmations(DUE, DUE) == []

    with_server(body, tmp_path / "d")


@pytest.mark.parametrize("headers, form_token", [
    ({"Origin": "https://evil.example"}, True),
    ({"Sec-Fetch-Site": "cross-site"}, True),
    ({"Sec-Fetch-Site": "same-site"}, True),
    ({}, False),
    ({"Origin": "null"}, True),
])
def test_cross_site_posts_are_refused_and_change_nothing(
        tmp_path: Path, headers: dict[str, str], form_token: bool) -> None:
    async def body(server: Server) -> None:
        url = server.confirm_url("phong-a")
        form = {"action": "confirm", **({"token": url.rsplit("/", 1)[1]} if form_token else {})}
        before = server.dump()
        async with aiohttp.ClientSession() as session, \
                session.post(url, data=form, headers=headers) as response:
            page = await _text(response)
        assert response.status == 403 and "Yêu cầu bị từ chối" in page
        assert server.dump() == before

    with_server(body, tmp_path / "d")


def _tampered(token: str) -> str:
    flipped = "A" if token[10] != "A" else "B"
    return token[:10] + flipped + token[11:]


@pytest.mark.parametrize("make, status, wording", [
    (lambda s: _tampered(s.confirm_url("phong-a").rsplit("/", 1)[1]), 403, "không hợp lệ"),
    (lambda s: s.confirm_url("phong-a").rsplit("/", 1)[1][:30], 403, "không hợp lệ"),
    (lambda s: sign(load_secrets(documents(s.config), s.config.state_dir).current,
                    LinkClaim("phong-a", EVENT, DUE, DUE)), 410, "đã hết hạn"),
    (lambda s: sign(b"x" * 32, confirm_claim(s.config, "phong-a", EVENT, DUE)), 403,
     "không hợp lệ"),
    (lambda s: sign(load_secrets(documents(s.config), s.config.state_dir).current,
                    confirm_claim(s.config, "phong-vhxh", EVENT, DUE)), 410,
     "không còn trong kế hoạch"),
])
def test_refused_links_get_a_vietnamese_page_and_change_nothing(
        tmp_path: Path, make: Callable[[Server], str], status: int, wording: str) -> None:
    async def body(server: Server) -> None:
        url = f"{server.url}/xac-nhan/{make(server)}"
        before = server.dump()
        async with aiohttp.ClientSession() as session:
            for method in ("GET", "POST"):
                data: Any = {"token": url.rsplit("/", 1)[1], "action": "confirm"}
                async with session.request(method, url, data=data if method == "POST" else None
                                           ) as response:
                    page = await _text(response)
                assert response.status == status, (method, page)
                assert wording in page and '<html lang="vi">' in page
        assert server.dump() == before

    with_server(body, tmp_path / "d")


def test_the_register_confirms_for_a_unit_undoes_and_downloads(tmp_path: Path) -> None:
    async def body(server: Server) -> None:
        token = register_token(server.config, "phong-vhxh")
        base = f"{server.url}/so-theo-doi/{token}"
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "?nam=2026&loc=qua-han&q=Phòng B") as response:
                page = await _text(response)
            assert response.status == 200 and "Sổ theo dõi báo cáo năm 2026" in page
            assert 'data-unit="phong-b"' in page and 'data-unit="phong-a"' not in page
            form = {"token": token, "action": "confirm", "unit": "phong-b", "event": EVENT,
                    "due": DUE.isoformat(), "ref": "Công văn giấy số 5"}
            async with session.post(base, data=form) as response:
                page = await _text(response)
            assert response.status == 200 and "Đã xác nhận thay cho Phòng B" in page
            [c] = server.ledger.confirmations(DUE, DUE)
            assert (c.unit, c.by, c.ref) == ("phong-b", "coordinator", "Công văn giấy số 5")
            async with session.get(f"{base}/2026.csv") as response:
                data = await response.read()
            assert data.startswith(b"\xef\xbb\xbf") and "Công văn giấy số 5" in data.decode()
            async with session.get(f"{base}/2026.xlsx") as response:
                book = load_workbook(io.BytesIO(await response.read()), read_only=True)
            assert sum(1 for _ in book.worksheets[0].iter_rows()) == data.count(b"\r\n")
            async with session.post(base, data={**form, "action": "undo"}) as response:
                assert "Đã hủy xác nhận của Phòng B" in await _text(response)
            assert server.ledger.confirmations(DUE, DUE) == []
            async with session.post(base, data={**form, "unit": "khong-co"}) as response:
                assert "Không ghi nhận" in await _text(response)
            async with session.post(base, data=form, headers={"Origin": "https://evil.example"}
                                    ) as response:
                assert response.status == 403
            async with session.get(f"{server.url}/so-theo-doi/{'x' * 24}") as response:
                assert response.status == 404
        assert server.ledger.confirmations(DUE, DUE) == []


    with_server(body, tmp_path / "d")

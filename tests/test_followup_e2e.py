"""Follow-up end to end: the real daemon process, a real SMTP server (aiosmtpd) and
headless Chromium (playwright, the system's /usr/bin/chromium).

Three runs of the daemon over one state dir, each starting its clock 30 s before 08:00
of a send day (start-up under load must finish before 08:00): Fri 12/6/2026 (lead 7:
phong-a confirms from its email in Chromium), Thu 18/6 (lead 1: everyone but phong-a),
Mon 22/6, the first working day after the Friday 19/6 deadline (overdue items to the
others; the coordinator's email lists exactly them). Then the register page,
`lichnhac status`, and the CSV and XLSX downloads must agree. The confirm page and the
register are also shot at 390 px and 1280 px, with no horizontal overflow.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from daemon_process import DaemonProcess
from followup_helpers import write_followup_deployment
from openpyxl import load_workbook
from playwright.sync_api import Page, sync_playwright
from smtp_helpers import Received, SmtpServer

CHROMIUM = "/usr/bin/chromium"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/(?:xac-nhan|so-theo-doi)/[A-Za-z0-9_-]+)")

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def body_text(received: Received) -> str:
    part = received.message().get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def to(received: Received) -> str:
    return received.recipients[0]


def ledger_dump(state: Path) -> list[str]:
    """Every row of the ledger, read through a separate connection."""
    db = sqlite3.connect(state / "ledger.sqlite3")
    try:
        return list(db.iterdump())
    finally:
        db.close()


def confirmations(state: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(state / "ledger.sqlite3")
    try:
        return db.execute("SELECT unit, event, due, by, ref FROM confirmation").fetchall()
    finally:
        db.close()


def run_day(config: Path, now: str, server: SmtpServer, expect: int,
            page_work: Any = None) -> list[Received]:
    """Run the daemon from `now` until `expect` more messages arrived; then `page_work`."""
    before = server.count()
    with DaemonProcess(config, env={"LICHNHAC_NOW": now}) as daemon:
        daemon.wait_ready()
        daemon.wait_for(lambda: server.count() >= before + expect, 60,
                        f"{expect} messages")
        daemon.wait_log(r"scheduled delivery: \d+ sent", timeout=30)
        if page_work is not None:
            page_work(daemon)
        assert daemon.stop() == 0
    received = server.received[before:]
    assert len(received) == expect, [to(r) for r in received]
    return received


def no_overflow(page: Page, shots: Path, name: str) -> None:
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner, f"{name} at {width}px: scrollWidth {scroll} > {inner}"


def test_a_unit_confirms_from_its_email_and_the_coordinator_sees_the_others(
        tmp_path: Path) -> None:
    shots = Path(os.environ.get("LICHNHAC_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with SmtpServer() as smtp, sync_playwright() as pw:
        config = write_followup_deployment(tmp_path / "d", transport="smtp",
                                           smtp_port=smtp.port,
                                           base_url=f"http://127.0.0.1:{port}")
        text = config.read_text(encoding="utf-8").replace('listen = "127.0.0.1:0"',
                                                          f'listen = "127.0.0.1:{port}"')
        config.write_text(text, encoding="utf-8")
        state = config.parent / "state"
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()

        # Day 1: Fri 12/6, lead 7 to the three units and the coordinator.
        def confirm_in_browser(daemon: DaemonProcess) -> None:
            mail_a = next(r for r in day1 if to(r) == "phonga@hoaan.example.gov.vn")
            link = LINK.search(body_text(mail_a))
            assert link is not None and "/xac-nhan/" in link.group(1)
            url = link.group(1)
            html = mail_a.message().get_body(("html",))
            assert html is not None and url in str(html.get_content())
            assert len(url) <= 256
            before = ledger_dump(state)
            for method in ("GET", "HEAD"):
                for suffix in ("", "?utm_source=scanner"):
                    request = urllib.request.Request(url + suffix, method=method)
                    with urllib.request.urlopen(request, timeout=10) as response:
                        assert response.status == 200
            page.goto(url)
            assert "Chưa xác nhận" in page.inner_text("#trang-thai")
            assert ledger_dump(state) == before
            no_overflow(page, shots, "confirm")
            page.fill("#ref", "Báo cáo số 12/BC-UBND ngày 05/6/2026")
            page.click("#xac-nhan button[type=submit]")
            page.wait_for_selector("#thong-bao")
            assert "Đã ghi nhận" in page.inner_text("#thong-bao")
            assert "Đã xác nhận" in page.inner_text("#trang-thai")
            no_overflow(page, shots, "confirm-done")
            assert confirmations(state) == [("phong-a", "bao-cao-6-thang", "2026-06-19",
                                             "unit", "Báo cáo số 12/BC-UBND ngày 05/6/2026")]

        day1: list[Received] = []
        before = smtp.count()

        def day1_work(daemon: DaemonProcess) -> None:
            day1.extend(smtp.received[before:])
            confirm_in_browser(daemon)

        run_day(config, "2026-06-12T07:59:30+07:00", smtp, 4, day1_work)

        # Day 2: Thu 18/6, lead 1 to the others (and the coordinator), not phong-a.
        day2 = run_day(config, "2026-06-18T07:59:30+07:00", smtp, 3)
        assert sorted(to(r) for r in day2) == ["phongb@hoaan.example.gov.vn",
                                              "phongc@hoaan.example.gov.vn",
                                              "vhxh@hoaan.example.gov.vn"]

        # Day 3: Mon 22/6, the first working day after the deadline.
        register: dict[str, str] = {}

        def day3_work(daemon: DaemonProcess) -> None:
            escalation = next(r for r in smtp.received if to(r) == "vhxh@hoaan.example.gov.vn"
                              and "qua-han" in str(r.message()["X-Lichnhac-Digest"]))
            text = body_text(escalation)
            listed = re.findall(r"^\s+\+ (.+?)\r?$", text, re.M)
            assert listed == ["Phòng B", "Phòng C"]
            link = LINK.search(text)
            assert link is not None and "/so-theo-doi/" in link.group(1)
            page.goto(link.group(1) + "?nam=2026")
            no_overflow(page, shots, "register")
            for row in page.query_selector_all("tr.dong"):
                unit = row.get_attribute("data-unit") or ""
                register[unit] = row.query_selector("td:nth-child(3) span").inner_text()
            site = daemon.base_url
            health = json.loads(daemon.get("/healthz").body)
            assert (health["confirmations"], health["overdue_units"]) == (1, 2)
            metrics = daemon.get("/metrics").body.decode()
            assert re.search(r"^lichnhac_confirmations 1\.0$", metrics, re.M)
            assert re.search(r"^lichnhac_overdue_units 2\.0$", metrics, re.M)
            csv_href, xlsx_href = (page.get_attribute(f"#tai-{kind}", "href")
                                   for kind in ("csv", "xlsx"))
            assert csv_href and xlsx_href
            with urllib.request.urlopen(site + csv_href, timeout=10) as response:
                register["csv"] = response.read().decode("utf-8")
            with urllib.request.urlopen(site + xlsx_href, timeout=10) as response:
                book = load_workbook(io.BytesIO(response.read()), read_only=True)
            register["xlsx-rows"] = json.dumps([
                ["" if v is None else str(v) for v in row]
                for row in book.worksheets[0].iter_rows(values_only=True)])

        day3 = run_day(config, "2026-06-22T07:59:30+07:00", smtp, 3, day3_work)
        assert sorted(to(r) for r in day3) == ["phongb@hoaan.example.gov.vn",
                                              "phongc@hoaan.example.gov.vn",
                                              "vhxh@hoaan.example.gov.vn"]
        for received in day3:
            if to(received) != "vhxh@hoaan.example.gov.vn":
                assert str(received.message()["Subject"]).startswith(
                    "[Nhắc việc] Quá hạn 1 ngày")
        browser.close()

    status = subprocess.run(
        [sys.executable, "-m", "scheduler", "--config", str(config), "status", "--year", "2026",
         "--format", "json"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "LICHNHAC_NOW": "2026-06-22T09:00:00+07:00"}, check=True)
    rows = json.loads(status.stdout)
    assert [(r["unit"], r["by"], r["overdue_days"]) for r in rows] == [
        ("phong-a", "unit", 0), ("phong-b", None, 1), ("phong-c", None, 1)]
    shown = {unit: text for unit, text in register.items() if unit.startswith("phong-")}
    assert shown == {"phong-a": "Đã gửi", "phong-b": "Quá hạn 1 ngày",
                     "phong-c": "Quá hạn 1 ngày"}
    parsed = list(csv.reader(io.StringIO(register["csv"].lstrip("\ufeff"))))
    assert parsed == json.loads(register["xlsx-rows"])
    assert [(r[3], r[5], r[9]) for r in parsed[1:]] == [
        (r["unit"], shown[r["unit"]], str(r["overdue_days"])) for r in rows]

"""The coordinator's weekly summary ([followup] weekly_summary): which days and which
coordinators, working-day moves, the content taken at sending time, exactly-once delivery
through the real pipeline (aiosmtpd), `plan` listing it, and the key's validation."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from followup_helpers import DUE, EVENT, write_followup_deployment
from plan_reference import reference_output
from playwright.sync_api import sync_playwright
from smtp_helpers import SmtpServer, shipped_config_copy

from scheduler.cli import main
from scheduler.clock import FixedClock
from scheduler.commands.plan import CoordinatorDigests, json_chunks, table_chunks
from scheduler.config import Config, load_config
from scheduler.delivery import Delivery
from scheduler.errors import ConfigError
from scheduler.followup.mail import SummaryRenderer
from scheduler.followup.summary import SUMMARY, summary_days, summary_digests
from scheduler.mail import open_transport
from scheduler.reminders import Planner
from scheduler.store import Confirmation, open_store

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# A second deadline reported to phong-a (not to the config's coordinator).
SECOND = """
[[event]]
id = "bao-cao-quy"
title = "Hạn gửi báo cáo quý II về phòng A"
kind = "deadline"
date = "2026-07-03"
units = ["phong-b", "phong-c"]
report_to = "phong-a"
lead_days = [3]
"""


def _deployment(directory: Path, weekly: str | None = '"monday"', days_off: str = "",
                transport: str = "outbox", smtp_port: int = 25) -> Path:
    path = write_followup_deployment(directory, transport=transport, smtp_port=smtp_port)
    text = path.read_text(encoding="utf-8")
    if weekly is not None:
        text = text.replace("escalate = true\n", f"escalate = true\nweekly_summary = {weekly}\n")
    if days_off:
        text = text.replace("[[unit]]", f"[workdays]\ndays_off = [{days_off}]\n\n[[unit]]", 1)
    path.write_text(text, encoding="utf-8")
    calendar = directory / "calendar.toml"
    calendar.write_text(calendar.read_text(encoding="utf-8") + SECOND, encoding="utf-8")
    return path


def _summaries(config: Config, start: date, end: date) -> dict[tuple[str, str], list[str]]:
    """(send day, coordinator) -> ['<event>:<lead_days>', ...]."""
    return {(d.send_at.date().isoformat(), d.unit):
            [f"{i.occurrence.event.id}:{i.lead_days}" for i in d.items]
            for d in summary_digests(config, start, end)}


def test_summaries_go_on_the_weekday_to_each_coordinator_with_the_next_two_weeks_and_overdue(
        tmp_path: Path) -> None:
    config = load_config(_deployment(tmp_path))
    got = _summaries(config, date(2026, 6, 1), date(2026, 7, 31))
    assert got == {
        # 1/6: 19/6 is 18 days away, beyond the two weeks: nothing to list, no email.
        ("2026-06-08", "phong-vhxh"): [f"{EVENT}:11"],
        ("2026-06-15", "phong-vhxh"): [f"{EVENT}:4"],
        # 22/6: overdue 1 working day (Mon 22/6); 3/7 is 11 days away, for phong-a.
        ("2026-06-22", "phong-vhxh"): [f"{EVENT}:-1"],
        ("2026-06-22", "phong-a"): ["bao-cao-quy:11"],
        ("2026-06-29", "phong-vhxh"): [f"{EVENT}:-6"],
        ("2026-06-29", "phong-a"): ["bao-cao-quy:4"],
        # Listed overdue while its links work: 30 days after the 3rd working day after.
        ("2026-07-06", "phong-vhxh"): [f"{EVENT}:-11"],
        ("2026-07-06", "phong-a"): ["bao-cao-quy:-1"],
        ("2026-07-13", "phong-vhxh"): [f"{EVENT}:-16"],
        ("2026-07-13", "phong-a"): ["bao-cao-quy:-6"],
        ("2026-07-20", "phong-vhxh"): [f"{EVENT}:-21"],
        ("2026-07-20", "phong-a"): ["bao-cao-quy:-11"],
        ("2026-07-27", "phong-a"): ["bao-cao-quy:-16"],
    }
    digest = summary_digests(config, date(2026, 6, 22), date(2026, 6, 22))[0]
    assert digest.kind == SUMMARY and digest.key == "2026-06-22/phong-a/tong-hop-tuan"
    assert digest.send_at == datetime(2026, 6, 22, 8, tzinfo=VN)
    assert digest.to == ("phonga@hoaan.example.gov.vn",)


def test_no_summary_when_the_key_is_absent_false_or_followup_is_off(tmp_path: Path) -> None:
    for index, weekly in enumerate((None, "false")):
        config = load_config(_deployment(tmp_path / str(index), weekly))
        assert config.followup.weekly_summary is None
        assert summary_digests(config, date(2026, 6, 1), date(2026, 7, 31)) == []
    path = _deployment(tmp_path / "off")
    path.write_text(path.read_text(encoding="utf-8").replace("enabled = true",
                                                             "enabled = false"),
                    encoding="utf-8")
    assert summary_digests(load_config(path), date(2026, 6, 1), date(2026, 7, 31)) == []


def test_a_summary_day_off_moves_to_the_next_working_day_of_the_same_week(
        tmp_path: Path) -> None:
    # Mon 15/6 off: Tue 16/6. The whole week of 6/7 off: no summary that week.
    off = '"2026-06-15", ' + ", ".join(f'"2026-07-{d:02d}"' for d in range(6, 11))
    config = load_config(_deployment(tmp_path, days_off=off))
    days = summary_days(config, date(2026, 6, 1), date(2026, 7, 19))
    assert days == [date(2026, 6, d) for d in (1, 8, 16, 22, 29)] + [date(2026, 7, 13)]
    assert ("2026-06-16", "phong-vhxh") in _summaries(config, date(2026, 6, 15),
                                                      date(2026, 6, 16))
    # A Vietnamese weekday name; a Friday: 19/6 itself is due "today" (lead 0).
    friday = load_config(_deployment(tmp_path / "sau", '"thu-sau"'))
    assert summary_days(friday, date(2026, 6, 1), date(2026, 6, 30)) == [
        date(2026, 6, d) for d in (5, 12, 19, 26)]
    assert _summaries(friday, date(2026, 6, 19), date(2026, 6, 19)) == {
        ("2026-06-19", "phong-vhxh"): [f"{EVENT}:0"]}


@pytest.mark.parametrize("value", ["1", "true", '"funday"', '["monday"]'])
def test_weekly_summary_of_the_wrong_type_names_file_line_and_what_was_expected(
        tmp_path: Path, value: str, english: None) -> None:
    path = _deployment(tmp_path, value)
    line = path.read_text(encoding="utf-8").splitlines().index(
        f"weekly_summary = {value}") + 1
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    messages = "\n".join(str(p) for p in caught.value.problems)
    assert f"config.toml:{line}:" in messages
    assert "weekly_summary" in messages and "is not a weekday" in messages
    assert '"monday" or "thu-hai"' in messages


def test_weekly_summary_of_the_wrong_type_is_reported_in_vietnamese_by_default(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_deployment(tmp_path, '"funday"'))
    messages = "\n".join(str(p) for p in caught.value.problems)
    assert "weekly_summary 'funday' không phải một thứ trong tuần" in messages


def _deliver(config: Config, moment: datetime) -> None:
    async def run() -> None:
        with open_store(config) as ledger:
            async with open_transport(config) as transport:
                await Delivery(config, ledger, transport, FixedClock(moment)).deliver_due(moment)

    asyncio.run(run())


def _outbox(config: Config) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((config.state_dir / "outbox").rglob("*")):
        if path.is_file() and path.parent.name in ("new", "cur"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            found.append(message)
    return found


def _text(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _summary_mail(config: Config, key: str) -> email.message.EmailMessage:
    found = [m for m in _outbox(config) if m["X-Lichnhac-Digest"] == key]
    assert len(found) == 1, [m["X-Lichnhac-Digest"] for m in _outbox(config)]
    return found[0]


def test_the_summary_counts_confirmations_known_when_it_is_sent(tmp_path: Path) -> None:
    config = load_config(_deployment(tmp_path))
    monday = datetime(2026, 6, 15, 8, tzinfo=VN)
    with open_store(config) as ledger:
        # Planned first (the daemon plans each day as it comes); then phong-a confirms.
        Delivery(config, ledger, open_transport(config), FixedClock(monday)).plan_window(
            monday.date(), monday.date())
        ledger.confirm(Confirmation("phong-a", EVENT, DUE, monday - timedelta(hours=1),
                                    "unit", "Số 12/BC", f"{EVENT}/2026"))
    _deliver(config, monday)
    text = _text(_summary_mail(config, "2026-06-15/phong-vhxh/tong-hop-tuan"))
    assert "ĐẾN HẠN TRONG 2 TUẦN TỚI (1)" in text
    assert "Hạn gửi báo cáo 6 tháng" in text
    assert "Hạn báo cáo: Thứ Sáu, 19/06/2026 (còn 4 ngày)" in text
    assert "Đã xác nhận: 1/3 đơn vị" in text and "QUÁ HẠN" not in text
    assert "/so-theo-doi/" in text
    # Mon 22/6: phong-b confirmed too; the overdue part lists phong-c only.
    with open_store(config) as ledger:
        ledger.confirm(Confirmation("phong-b", EVENT, DUE, datetime(2026, 6, 21, tzinfo=VN),
                                    "coordinator"))
    _deliver(config, datetime(2026, 6, 22, 8, tzinfo=VN))
    message = _summary_mail(config, "2026-06-22/phong-vhxh/tong-hop-tuan")
    assert str(message["Subject"]) == "[Tổng hợp tuần] 1 việc quá hạn chưa đủ xác nhận"
    text = _text(message)
    assert "QUÁ HẠN, CHƯA ĐỦ ĐƠN VỊ XÁC NHẬN (1)" in text
    assert "(Quá hạn 1 ngày)" in text and "Đã xác nhận: 2/3 đơn vị" in text
    pending = text.split("Chưa xác nhận (1 đơn vị):")[1].split("Sổ theo dõi")[0]
    assert "Phòng C" in pending and "Phòng A" not in pending and "Phòng B" not in pending
    html = message.get_body(("html",))
    assert html is not None and "Phòng C" in str(html.get_content())
    # Mon 29/6: everyone confirmed: nothing left to list, no email to phong-vhxh.
    with open_store(config) as ledger:
        ledger.confirm(Confirmation("phong-c", EVENT, DUE, datetime(2026, 6, 28, tzinfo=VN),
                                    "operator"))
    _deliver(config, datetime(2026, 6, 29, 8, tzinfo=VN))
    assert not [m for m in _outbox(config)
                if m["X-Lichnhac-Digest"] == "2026-06-29/phong-vhxh/tong-hop-tuan"]
    _summary_mail(config, "2026-06-29/phong-a/tong-hop-tuan")


def _week(key: str) -> str:
    day = date.fromisoformat(key.split("/")[0])
    return (day - timedelta(days=day.weekday())).isoformat()


def test_simulating_two_months_over_smtp_sends_one_summary_per_coordinator_per_week_once(
        tmp_path: Path) -> None:
    with SmtpServer() as server:
        path = _deployment(tmp_path / "d", transport="smtp", smtp_port=server.port,
                           days_off='"2026-06-15"')
        args = ["--config", str(path), "simulate", "--from", "2026-06-01", "--to",
                "2026-07-31", "--live"]
        assert main(args) == 0
        keys = [str(r.message()["X-Lichnhac-Digest"]) for r in server.received]
        summaries = [k for k in keys if k.endswith("/tong-hop-tuan")]
        per_week = Counter((_week(k), k.split("/")[1]) for k in summaries)
        assert set(per_week.values()) == {1}
        assert sorted(summaries) == sorted(
            f"{day}/{unit}/tong-hop-tuan" for day, unit in _summaries(
                load_config(path), date(2026, 6, 1), date(2026, 7, 31)))
        assert "2026-06-16/phong-vhxh/tong-hop-tuan" in summaries   # Monday 15/6 off
        for received in server.received:
            message = received.message()
            if str(message["X-Lichnhac-Digest"]).endswith("/tong-hop-tuan"):
                assert str(message["Subject"]).startswith("[Tổng hợp tuần]")
                assert str(message["Date"]).endswith("08:00:00 +0700")
        # A restart over the same window sends nothing again.
        before = server.count()
        assert main(args) == 0
        assert server.count() == before


def test_a_summary_claimed_before_a_crash_is_resent_once_with_the_same_message_id(
        tmp_path: Path) -> None:
    with SmtpServer() as server:
        config = load_config(_deployment(tmp_path, transport="smtp", smtp_port=server.port))
        monday = datetime(2026, 6, 22, 8, tzinfo=VN)
        with open_store(config) as ledger:
            Delivery(config, ledger, open_transport(config), FixedClock(monday)).plan_window(
                monday.date(), monday.date())
            claims = ledger.claim_due(monday, 100)     # then the process dies
            tokens = {c.digest_key: c.token for c in claims}
        assert "2026-06-22/phong-vhxh/tong-hop-tuan" in tokens
        _deliver(config, monday)
        _deliver(config, monday + timedelta(hours=2))
        summaries = [r.message() for r in server.received
                     if str(r.message()["X-Lichnhac-Digest"]).endswith("/tong-hop-tuan")]
        assert sorted(str(m["X-Lichnhac-Digest"]) for m in summaries) == [
            "2026-06-22/phong-a/tong-hop-tuan", "2026-06-22/phong-vhxh/tong-hop-tuan"]
        for message in summaries:
            token = tokens[str(message["X-Lichnhac-Digest"])]
            assert str(message["Message-ID"]).startswith(f"<{token}@")


def test_plan_lists_the_summaries_where_simulate_sends_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _deployment(tmp_path)
    config = load_config(path)
    start, end = date(2026, 6, 1), date(2026, 7, 31)
    assert main(["--config", str(path), "plan", "--from", start.isoformat(), "--to",
                 end.isoformat()]) == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if "[Tổng hợp tuần]" in line]
    assert len(rows) == len(_summaries(config, start, end))
    # 22/6: phong-vhxh's escalation, then its summary.
    lines = table.splitlines()
    escalation = next(i for i, line in enumerate(lines)
                      if "22/06/2026" in line and "[Theo dõi báo cáo]" in line)
    assert "[Tổng hợp tuần]" in lines[escalation + 1] and "phong-vhxh" in lines[escalation + 1]
    for fmt in ("table", "json"):
        chunks = json_chunks if fmt == "json" else table_chunks
        streamed = b"".join(chunks(Planner(config, start, end, None),
                                   CoordinatorDigests(config, start, end, None))).decode()
        assert streamed == reference_output(config, start, end, fmt)
        assert streamed.count("tong-hop-tuan") == (len(rows) if fmt == "json" else 0)
    assert main(["--config", str(path), "plan", "--from", start.isoformat(), "--to",
                 end.isoformat(), "--unit", "phong-a"]) == 0
    only_a = capsys.readouterr().out
    assert only_a == reference_output(config, start, end, "table", unit="phong-a")
    assert len(re.findall(r"phong-a .*\[Tổng hợp tuần\]", only_a)) == 6


def _summary_html(config: Config, day: date, unit: str,
                  confirmed: set[tuple[str, str, date]]) -> str:
    digest = next(d for d in summary_digests(config, day, day) if d.unit == unit)
    message = SummaryRenderer(config).outgoing(digest, "t" * 32, digest.send_at,
                                               confirmed=confirmed)
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    html = parsed.get_body(("html",))
    assert html is not None
    return str(html.get_content())


def test_summary_html_stays_within_a_phone_width(tmp_path: Path) -> None:
    config = load_config(_deployment(tmp_path / "d"))
    small = tmp_path / "small.html"
    small.write_text(_summary_html(config, date(2026, 6, 22), "phong-vhxh",
                                   {("phong-a", EVENT, DUE)}), encoding="utf-8")
    # The shipped deployment on Mon 15/6: one overdue deadline and one coming, long names.
    shipped = load_config(shipped_config_copy(tmp_path))
    assert shipped.followup.weekly_summary == 0
    both = tmp_path / "both.html"
    both.write_text(_summary_html(shipped, date(2026, 6, 15), "phong-van-hoa-xa-hoi", set()),
                    encoding="utf-8")
    shots = Path("/tmp/weekly-shots")
    shots.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            for width in (390, 1280):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(small.as_uri())
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
                assert page.locator("ul.chua-xac-nhan li").all_inner_texts() == [
                    "Phòng B", "Phòng C"]
                page.screenshot(path=str(shots / f"summary-{width}.png"), full_page=True)
                page.goto(both.as_uri())
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
                assert page.locator("ol.qua-han > li").count() == 1
                assert page.locator("ol.sap-den-han > li").count() == 1
                page.screenshot(path=str(shots / f"summary-shipped-{width}.png"),
                                full_page=True)
                page.close()
        finally:
            browser.close()


def test_the_daemon_wakes_for_a_summary_on_a_day_without_reminders(tmp_path: Path) -> None:
    # After Fri 12/6 (lead 7) the next reminder is Thu 18/6; the summary is Mon 15/6.
    config = load_config(_deployment(tmp_path))
    after = datetime(2026, 6, 12, 9, tzinfo=VN)
    with open_store(config) as ledger:
        delivery = Delivery(config, ledger, open_transport(config), FixedClock(after))
        assert delivery.next_send_time(after) == datetime(2026, 6, 15, 8, tzinfo=VN)
    off = load_config(_deployment(tmp_path / "off", None))
    with open_store(off) as ledger:
        delivery = Delivery(off, ledger, open_transport(off), FixedClock(after))
        assert delivery.next_send_time(after) == datetime(2026, 6, 18, 8, tzinfo=VN)


def test_the_summary_says_what_each_deadline_is_and_when_a_day_off_moves_it(
        tmp_path: Path) -> None:
    # Not every followed deadline is a report, and one written on a Saturday is due on the
    # Friday before: the summary said "Hạn báo cáo" for all and nothing about the move.
    path = _deployment(tmp_path)
    calendar = tmp_path / "calendar.toml"
    calendar.write_text(calendar.read_text(encoding="utf-8") + """
[[event]]
id = "dang-tin"
title = "Đăng tối thiểu 02 tin, bài về bình đẳng giới"
kind = "deadline"
date = "2026-07-04"
units = ["phong-b"]
report_to = "phong-a"
""", encoding="utf-8")
    config = load_config(path)
    (digest,) = [d for d in summary_digests(config, date(2026, 6, 22), date(2026, 6, 22))
                 if d.unit == "phong-a"]
    entries = {e["title"]: e for e in SummaryRenderer(config).context(digest)["upcoming"]}
    posted = entries["Đăng tối thiểu 02 tin, bài về bình đẳng giới"]
    assert posted["kind"] == "Thời hạn thực hiện"
    assert "04/07/2026 rơi vào Thứ Bảy" in posted["moved_note"]
    assert "Thứ Sáu, 03/07/2026" in posted["moved_note"]
    assert posted["countdown"] == "còn 11 ngày"   # to Friday, as the reminders count
    quarterly = entries["Hạn gửi báo cáo quý II về phòng A"]
    assert quarterly["kind"] == "Hạn báo cáo" and quarterly["moved_note"] == ""
    assert str(digest.subject) == "[Tổng hợp tuần] 2 việc đến hạn trong 2 tuần tới"

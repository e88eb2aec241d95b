"""Feed content: FEEDS.md's rules for VCALENDAR and VEVENT, checked on our own bytes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date, timedelta
from hashlib import sha256
from pathlib import Path

import icalendar
import vobject
from feedlint import lint
from feedtools import FIXTURES_DIR, MIDNIGHT, ROOT, TODAY, ical_js, shipped_config
from hypothesis import given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from scheduler.config import FeedsConfig, load_config
from scheduler.feeds import build_feedset, calendar_bytes, uid_for
from scheduler.feeds.ics import fold
from scheduler.occurrences import occurrences


def _events(body: bytes) -> dict[str, bytes]:
    """UID → the VEVENT's bytes."""
    found = {}
    for block in re.findall(rb"BEGIN:VEVENT\r\n.*?END:VEVENT\r\n", body, re.S):
        uid = re.search(rb"^UID:(.*)\r$", block, re.M)
        assert uid is not None
        found[uid.group(1).decode()] = block
    return found


def _unfolded(body: bytes) -> str:
    return body.decode("utf-8").replace("\r\n ", "")


def test_all_day_events_use_value_date_with_an_exclusive_end(tmp_path: Path) -> None:
    feeds = build_feedset(shipped_config(tmp_path), TODAY, tmp_path)
    events = _events(feeds.feeds["all.ics"].body)
    campaign = events["thang-hanh-dong-binh-dang-gioi-2026@lichnhac"].decode()
    assert "DTSTART;VALUE=DATE:20261115\r\n" in campaign
    assert "DTEND;VALUE=DATE:20261216\r\n" in campaign  # 15/11–15/12 inclusive
    women = events["ngay-quoc-te-phu-nu-2026@lichnhac"].decode()
    assert "DTSTART;VALUE=DATE:20260308\r\nDTEND;VALUE=DATE:20260309\r\n" in women
    for block in events.values():
        assert b"TRANSP:TRANSPARENT\r\n" in block
        assert not re.search(rb"DT(START|END):\d{8}T", block), "no floating date-times"


def test_calendar_properties_name_the_unit_in_vietnamese(tmp_path: Path) -> None:
    feeds = build_feedset(shipped_config(tmp_path), TODAY, tmp_path)
    text = _unfolded(feeds.feeds["units/tram-y-te.ics"].body)
    assert "\r\nNAME:Lịch công tác bình đẳng giới – Trạm Y tế xã\r\n" in text
    assert "\r\nX-WR-CALNAME:Lịch công tác bình đẳng giới – Trạm Y tế xã\r\n" in text
    assert "\r\nX-WR-TIMEZONE:Asia/Ho_Chi_Minh\r\n" in text
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT6H\r\n" in text
    assert "\r\nX-PUBLISHED-TTL:PT6H\r\n" in text
    assert "\r\nMETHOD:PUBLISH\r\n" in text
    kinds = _unfolded(feeds.feeds["kinds/deadline.ics"].body)
    assert "X-WR-CALNAME:Lịch công tác bình đẳng giới – Hạn báo cáo\r\n" in kinds


def test_refresh_hint_follows_refresh_hours(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    config = replace(config, feeds=replace(config.feeds, refresh_hours=36))
    body = build_feedset(config, TODAY, tmp_path).feeds["all.ics"].body
    assert b"REFRESH-INTERVAL;VALUE=DURATION:P1DT12H\r\n" in body
    assert b"X-PUBLISHED-TTL:P1DT12H\r\n" in body


def test_vtimezone_is_one_standard_block_without_comment(tmp_path: Path) -> None:
    body = build_feedset(shipped_config(tmp_path), TODAY, tmp_path).feeds["all.ics"].body
    block = re.search(rb"BEGIN:VTIMEZONE\r\n.*?END:VTIMEZONE\r\n", body, re.S)
    assert block is not None
    text = block.group(0).decode()
    assert "TZID:Asia/Ho_Chi_Minh" in text
    assert text.count("BEGIN:STANDARD") == 1 and "DAYLIGHT" not in text
    assert "TZOFFSETFROM:+0700" in text and "TZOFFSETTO:+0700" in text
    assert "COMMENT" not in text


def test_uids_are_stable_ascii_and_one_per_occurrence(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    feeds = build_feedset(config, TODAY, tmp_path)
    uids = list(_events(feeds.feeds["all.ics"].body))
    assert len(uids) == len(set(uids)) == len(feeds.occurrences)
    assert all(uid.isascii() and uid.endswith("@lichnhac") for uid in uids)
    assert "tin-bai-hang-quy-2026-03-20@lichnhac" in uids  # an RRULE instance: per date
    assert "ngay-quoc-te-phu-nu-2025@lichnhac" in uids  # a yearly date: per year
    again = build_feedset(config, TODAY + timedelta(days=40), tmp_path / "other")
    assert set(uids) & set(_events(again.feeds["all.ics"].body))  # same UIDs, another day


def test_description_names_basis_units_report_to_and_link_without_emails(
        tmp_path: Path) -> None:
    feeds = build_feedset(shipped_config(tmp_path), TODAY, tmp_path)
    block = _events(feeds.feeds["all.ics"].body)[
        "ke-hoach-huong-ung-thang-hanh-dong-2026@lichnhac"]
    text = _unfolded(block)
    assert "Căn cứ: Kế hoạch số 12/KH-UBND ngày 15/01/2026 của UBND xã Hòa An" in text
    assert "Đơn vị thực hiện: Tất cả các đơn vị (11)" in text
    assert "Gửi báo cáo về: Phòng Văn hóa – Xã hội" in text
    assert "CATEGORIES:Hạn báo cáo" in text
    assert "http://127.0.0.1:8080/" in text
    for feed_path in feeds.feeds:
        assert b"@hoaan.example" not in feeds.feeds[feed_path].body


def test_messy_text_is_nfc_without_controls_or_emails(tmp_path: Path) -> None:
    messy = load_config(ROOT / "config.toml",
                        calendars=["national", str(FIXTURES_DIR / "feeds_messy_text.toml")])
    config = replace(messy, state_dir=tmp_path / "var")
    body = build_feedset(config, TODAY, tmp_path).feeds["units/tram-y-te.ics"].body
    assert lint(body) == []
    text = _unfolded(body)
    assert unicodedata.is_normalized("NFC", text)
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]", text)
    block = _unfolded(_events(body)["tap-huan-long-ghep-gioi-2026@lichnhac"])
    assert "SUMMARY:Tập huấn kỹ năng lồng ghép giới cho cán bộ cơ sở\r\n" in block
    assert "@example.gov.vn" not in block and "(địa chỉ email đã ẩn)" in block
    assert "Word\\;\\ndòng ba\\, có dấu phẩy\\; chấm phẩy \\\\ gạch chéo." in block
    assert "Đơn vị thực hiện: Trạm Y tế xã\\; Ủy ban Mặt trận Tổ quốc Việt Nam xã" in block
    assert "Chi tiết: https://example.gov.vn/ke-hoach/99?a=1&b=2" in block
    parsed = icalendar.Calendar.from_ical(body)
    event = next(e for e in parsed.walk("VEVENT") if "tap-huan" in str(e["UID"]))
    assert "dòng ba, có dấu phẩy; chấm phẩy \\ gạch chéo." in str(event["DESCRIPTION"])


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=400), st.sampled_from(["SUMMARY:", "DESCRIPTION:", "X:"]))
def test_folding_keeps_lines_within_75_octets_and_characters_whole(text: str,
                                                                   name: str) -> None:
    line = name + text.replace("\r", "").replace("\n", "")
    folded = fold(line)
    assert folded.endswith(b"\r\n")
    physical = folded[:-2].split(b"\r\n")
    for index, part in enumerate(physical):
        assert len(part) <= 75
        part.decode("utf-8")  # raises if a fold split a character
        if index:
            assert part.startswith(b" ")
    assert b"".join(p[1:] if i else p for i, p in enumerate(physical)).decode() == line


def test_no_alarm_by_default_and_one_alarm_last_when_configured(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    assert b"VALARM" not in build_feedset(config, TODAY, tmp_path).feeds["all.ics"].body
    config = replace(config, feeds=replace(config.feeds, alarm_days=1))
    body = build_feedset(config, TODAY, tmp_path / "alarm").feeds["all.ics"].body
    for block in _events(body).values():
        assert block.count(b"BEGIN:VALARM") == 1
        assert block.endswith(b"END:VALARM\r\nEND:VEVENT\r\n")
        assert b"TRIGGER:-PT16H\r\n" in block  # 08:00 (send_time) the day before
    assert lint(body) == []
    # The strict parsers accept the alarm too (ical.js is run on it in test_feeds_validators).
    IcsCalendarStream.calendar_from_ics(body.decode())
    vobject.readOne(body.decode()).validate(raiseException=True)
    (tmp_path / "alarm.ics").write_bytes(body)
    [parsed] = ical_js([tmp_path / "alarm.ics"])
    assert parsed["ok"] and all(e["alarms"] == 1 for e in parsed["events"])


def test_window_runs_from_last_january_to_next_december(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    feeds = build_feedset(config, TODAY, tmp_path)
    assert feeds.window == (date(2025, 1, 1), date(2027, 12, 31))
    starts = [o.start for o in feeds.occurrences]
    assert min(starts) >= date(2025, 1, 1) and max(starts) <= date(2027, 12, 31)
    wide = replace(config, feeds=FeedsConfig(past_years=0, future_years=2))
    assert build_feedset(wide, TODAY, tmp_path / "w").window == (date(2026, 1, 1),
                                                                  date(2028, 12, 31))


def test_feed_etag_is_the_hash_of_its_bytes_and_last_modified_is_aware(tmp_path: Path) -> None:
    feeds = build_feedset(shipped_config(tmp_path), TODAY, tmp_path)
    assert len(feeds.feeds) == 1 + 4 + 11
    for path in feeds.feeds:
        feed = feeds.feeds[path]
        assert feed.body and feed.etag == f'"{sha256(feed.body).hexdigest()[:32]}"'
        assert feed.last_modified.tzinfo is not None


def test_two_builds_of_unchanged_data_are_byte_identical(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    first = build_feedset(config, TODAY, tmp_path / "state", now=MIDNIGHT)
    later = build_feedset(config, TODAY + timedelta(days=3), tmp_path / "state")
    fresh = build_feedset(config, TODAY, tmp_path / "fresh", now=MIDNIGHT)
    stateless = build_feedset(config, TODAY, None)
    for path in first.feeds:
        assert first.feeds[path].body == later.feeds[path].body == fresh.feeds[path].body
        assert stateless.feeds[path].body == first.feeds[path].body
        assert first.feeds[path].last_modified == later.feeds[path].last_modified


def test_changing_one_event_changes_only_its_vevents_and_the_feeds_with_it(
        tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    original = (ROOT / "calendars" / "xa-hoa-an-2026.toml").read_text(encoding="utf-8")
    local = write("calendars/local.toml", original)
    cfg_text = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        "calendars/xa-hoa-an-2026.toml", "calendars/local.toml").replace(
        'dir = "var"', 'dir = "state"')
    config_path = write("config.toml", cfg_text)
    before = build_feedset(load_config(config_path), TODAY, tmp_path / "state", now=MIDNIGHT)
    local.write_text(original.replace("Hội nghị sơ kết 6 tháng công tác bình đẳng giới",
                                      "Hội nghị sơ kết 6 tháng (đổi địa điểm)"),
                     encoding="utf-8")
    after = build_feedset(load_config(config_path), TODAY + timedelta(days=1),
                          tmp_path / "state", now=MIDNIGHT + timedelta(days=1))
    changed = "so-ket-6-thang-2026@lichnhac"
    old, new = _events(before.feeds["all.ics"].body), _events(after.feeds["all.ics"].body)
    assert old.keys() == new.keys()
    for uid in old:
        if uid != changed:
            assert old[uid] == new[uid], uid
    assert b"SEQUENCE:0\r\n" in old[changed] and b"SEQUENCE:1\r\n" in new[changed]
    assert b"LAST-MODIFIED:20261121T170000Z" in old[changed]
    assert b"LAST-MODIFIED:20261122T170000Z" in new[changed]
    assert b"CREATED:20261121T170000Z" in new[changed]
    # so-ket-6-thang concerns the offices only: schools' feeds and other kinds stay put.
    for path in before.feeds:
        same = before.feeds[path].body == after.feeds[path].body
        contains = changed.encode() in before.feeds[path].body
        assert same != contains, path
        if same:
            assert before.feeds[path].last_modified == after.feeds[path].last_modified
        else:
            assert after.feeds[path].last_modified > before.feeds[path].last_modified
    assert before.feeds["units/truong-thcs.ics"].body == after.feeds["units/truong-thcs.ics"].body
    assert before.feeds["units/cong-an-xa.ics"].body != after.feeds["units/cong-an-xa.ics"].body


def test_two_changes_on_one_day_still_move_last_modified_forward(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    first = build_feedset(config, TODAY, tmp_path)
    renamed = replace(config, units=tuple(replace(u, name=u.name + " (mới)")
                                          if u.id == "tram-y-te" else u for u in config.units))
    second = build_feedset(renamed, TODAY, tmp_path)
    path = "units/tram-y-te.ics"
    assert second.feeds[path].last_modified > first.feeds[path].last_modified


def test_unreadable_revisions_file_is_a_warning_not_a_failure(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "feed-revisions.json").write_text("{not json", encoding="utf-8")
    feeds = build_feedset(shipped_config(tmp_path), TODAY, tmp_path)
    assert feeds.feeds["all.ics"].body.count(b"SEQUENCE:0") == len(feeds.occurrences)
    assert "feed-revisions.json" in caplog.text


def test_calendar_bytes_renders_given_occurrences_like_the_feeds(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    feeds = build_feedset(config, TODAY, config.state_dir)
    occs = occurrences(config.events, date(2026, 12, 1), date(2026, 12, 31), config.groups(),
                       unit="tram-y-te")
    data = calendar_bytes(config, occs, "Nhắc việc tháng 12")
    assert lint(data) == []
    assert "X-WR-CALNAME:Nhắc việc tháng 12" in _unfolded(data)
    mine = _events(data)
    assert list(mine) == [uid_for(o) for o in occs]
    served = _events(feeds.feeds["units/tram-y-te.ics"].body)
    for uid, block in mine.items():
        assert block == served[uid]  # same stamps and SEQUENCE as the feed
    assert calendar_bytes(config, occs, "x") == calendar_bytes(config, occs, "x")


def test_calendar_bytes_without_state_or_occurrences_is_still_a_valid_calendar(
        tmp_path: Path) -> None:
    config = shipped_config(tmp_path)
    data = calendar_bytes(config, [], "Trống")
    assert lint(data) == [] and b"BEGIN:VTIMEZONE" in data
    icalendar.Calendar.from_ical(data)


def test_province_scale_feeds_stay_under_800_kb() -> None:
    """The biggest feeds of the generated 1,000-unit dataset."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(ROOT / "bench" / "dataset.py"), "province", tmp],
                       check=True, capture_output=True, timeout=120)
        config = load_config(Path(tmp) / "config.toml")
        feeds = build_feedset(config, TODAY, Path(tmp) / "var")
        assert feeds.oversized == ()
        assert len(feeds.feeds["all.ics"].body) < 800_000
        assert max(len(feeds.feeds[e.path].body) for e in feeds.units[:50]) < 800_000


@settings(max_examples=150, deadline=None)
@given(title=st.text(min_size=1, max_size=120), text=st.text(max_size=400))
def test_any_text_gives_a_clean_feed_that_parsers_read_back(title: str, text: str) -> None:
    """Whatever a calendar file holds, the feed lints clean and parsers decode our text."""
    from scheduler.feeds.ics import clean_text
    from scheduler.model import Event, YearlyDate

    base = load_config(ROOT / "config.toml")
    event = Event(id="bat-ky", title=title, kind="activity", rule=YearlyDate(5, 15),
                  units=("all",), basis=text, description=text)
    config = replace(base, events=(event,))
    occs = occurrences(config.events, date(2026, 1, 1), date(2026, 12, 31), config.groups())
    data = calendar_bytes(config, occs, title)
    assert lint(data) == []
    parsed = icalendar.Calendar.from_ical(data)
    [vevent] = parsed.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == clean_text(title)
    assert clean_text(text, multiline=True) in str(vevent["DESCRIPTION"])
    assert unicodedata.is_normalized("NFC", data.decode("utf-8"))
    IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))


def test_another_timezone_gets_its_own_vtimezone(tmp_path: Path) -> None:
    config = replace(shipped_config(tmp_path), timezone_name="Europe/Berlin")
    body = build_feedset(config, TODAY, tmp_path).feeds["all.ics"].body
    assert lint(body) == []
    assert b"X-WR-TIMEZONE:Europe/Berlin\r\n" in body and b"TZID:Europe/Berlin\r\n" in body
    assert b"BEGIN:DAYLIGHT" in body and b"COMMENT" not in body
    IcsCalendarStream.calendar_from_ics(body.decode())
    vobject.readOne(body.decode()).validate(raiseException=True)


def test_changes_are_stamped_with_the_real_time_when_recorded_in_a_state_dir(
        tmp_path: Path) -> None:
    """A stamp of midnight for a change made at 14:00 would let a client that fetched at
    10:00 (If-Modified-Since 10:00) miss it: recording uses the clock unless told `now`."""
    from scheduler.clock import SystemClock

    config = shipped_config(tmp_path)
    before = SystemClock(config.timezone).now().replace(microsecond=0)
    feeds = build_feedset(config, TODAY, tmp_path)
    assert feeds.feeds["all.ics"].last_modified >= before

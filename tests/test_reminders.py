"""Reminder planning (pure): lead days, working days, moved deadlines, collapsed leads,
digests, and the `plan` command's JSON contract."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.config import Config, load_config
from scheduler.reminders import plan_json, plan_reminders, send_days
from tests.conftest import run_cli
from tests.smtp_helpers import write_deployment

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _event(event_id: str, when: str, kind: str = "deadline", leads: str = "",
           units: str = '["tram-y-te"]', title: str = "Hạn gửi báo cáo") -> str:
    lead_line = f"lead_days = {leads}\n" if leads else ""
    return (f'\n[[event]]\nid = "{event_id}"\ntitle = "{title}"\nkind = "{kind}"\n'
            f'date = "{when}"\nunits = {units}\nbasis = "Kế hoạch số 45/KH-UBND"\n{lead_line}')


def _config(tmp_path: Path, events: str) -> Config:
    return load_config(write_deployment(tmp_path, events))


def test_deadline_on_a_saturday_is_reminded_against_the_friday_before(tmp_path: Path) -> None:
    config = _config(tmp_path, _event("bao-cao", "2028-06-10", leads="[7, 1, 0]"))
    digests = plan_reminders(config, date(2028, 5, 1), date(2028, 6, 30))
    days = [d.send_at.date() for d in digests]
    # Target Friday 9/6 (10/6/2028 is a Saturday): lead 0 → Fri 9/6, 1 → Thu 8/6, 7 → Fri 2/6.
    assert days == [date(2028, 6, 2), date(2028, 6, 8), date(2028, 6, 9)]
    for digest in digests:
        (item,) = digest.items
        assert item.target == date(2028, 6, 9)
        assert item.moved_from == date(2028, 6, 10)
    assert digests[-1].subject == "[Nhắc việc] Hôm nay: Hạn gửi báo cáo"
    assert digests[0].subject == "[Nhắc việc] Còn 7 ngày: Hạn gửi báo cáo"
    assert all(d.send_at.time() == time(8, 0) and d.send_at.tzinfo == HCM for d in digests)


def test_send_day_off_work_moves_to_the_previous_working_day(tmp_path: Path) -> None:
    # Observance on Monday 8/3/2027 with lead 1: Sunday 7/3 → Friday 5/3.
    config = _config(tmp_path, _event("le", "2027-03-08", kind="observance", leads="[1]"))
    (digest,) = plan_reminders(config, date(2027, 3, 1), date(2027, 3, 31))
    assert digest.send_at.date() == date(2027, 3, 5)
    assert digest.subject == "[Nhắc việc] Còn 3 ngày: Hạn gửi báo cáo"


def test_collapsed_leads_list_the_item_once_under_the_smallest_lead(tmp_path: Path) -> None:
    # Deadline Monday 15/6/2026; leads 3 and 1 both land on Friday 12/6.
    config = _config(tmp_path, _event("bao-cao", "2026-06-15", leads="[3, 1, 0]"))
    digests = plan_reminders(config, date(2026, 6, 1), date(2026, 6, 30))
    assert [(d.send_at.date(), [i.lead_days for i in d.items]) for d in digests] == [
        (date(2026, 6, 12), [1]), (date(2026, 6, 15), [0])]


def test_one_digest_per_unit_and_send_time_lists_every_item(tmp_path: Path) -> None:
    events = (_event("a", "2026-06-17", leads="[7]", units='["offices"]', title="Việc A")
              + _event("b", "2026-06-17", leads="[7]", units='["tram-y-te"]', title="Việc B"))
    config = _config(tmp_path, events)
    digests = plan_reminders(config, date(2026, 6, 1), date(2026, 6, 30))
    # The unit without an email gets nothing; tram-y-te gets both items in one email.
    assert [(d.key, len(d.items)) for d in digests] == [
        ("2026-06-10/phong-van-hoa-xa-hoi", 1), ("2026-06-10/tram-y-te", 2)]
    both = digests[1]
    assert both.to == ("tramyte@example.gov.vn", "yte2@example.gov.vn")
    assert [i.key for i in both.items] == ["tram-y-te/a/2026/7", "tram-y-te/b/2026/7"]
    assert both.subject == "[Nhắc việc] Còn 7 ngày: Việc A (và 1 việc khác)"
    assert plan_reminders(config, date(2026, 6, 1), date(2026, 6, 30), unit="tram-y-te") \
        == [both]


def test_window_bounds_are_send_days(tmp_path: Path) -> None:
    config = _config(tmp_path, _event("bao-cao", "2026-06-15", leads="[3, 0]"))
    assert [d.key for d in plan_reminders(config, date(2026, 6, 15), date(2026, 6, 15))] == [
        "2026-06-15/tram-y-te"]
    assert plan_reminders(config, date(2026, 6, 13), date(2026, 6, 14)) == []



@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(date(2026, 1, 1), date(2030, 12, 31)),
       leads=st.lists(st.integers(0, 40), min_size=1, max_size=5, unique=True),
       kind=st.sampled_from(["deadline", "observance", "campaign", "activity"]))
def test_reminders_never_fall_on_a_day_off_nor_after_the_target(
        tmp_path: Path, day: date, leads: list[int], kind: str) -> None:
    config = _config(tmp_path, _event("x", day.isoformat(), kind=kind, leads=str(leads)))
    workdays = config.workdays()
    digests = plan_reminders(config, day - timedelta(days=80), day + timedelta(days=1))
    assert 1 <= len(digests) <= len(leads)
    for digest in digests:
        sent = digest.send_at.date()
        assert workdays.is_working_day(sent)
        (item,) = digest.items
        assert sent <= item.target <= day
        assert item.lead_days in leads
    assert len({d.key for d in digests}) == len(digests)
    # Pure: the same inputs give the same plan.
    again = plan_reminders(config, day - timedelta(days=80), day + timedelta(days=1))
    assert plan_json(again) == plan_json(digests)


def test_plan_json_contract_on_the_shipped_config() -> None:
    result = run_cli("plan", "--from", "2026-06-01", "--to", "2026-06-30", "--format", "json")
    assert result.status == 0, result.stderr
    plan = result.json()
    assert isinstance(plan, list) and plan
    for entry in plan:
        assert set(entry) == {"key", "send_at", "unit", "to", "subject", "items"}
        # A coordinator's follow-up escalation and weekly summary (README "Follow-up")
        # have their own keys.
        assert entry["key"] in (f"{entry['send_at'][:10]}/{entry['unit']}",
                                f"{entry['send_at'][:10]}/{entry['unit']}/qua-han",
                                f"{entry['send_at'][:10]}/{entry['unit']}/tong-hop-tuan")
        assert datetime.fromisoformat(entry["send_at"]).utcoffset() == timedelta(hours=7)
        for item in entry["items"]:
            assert set(item) == {"event", "start", "lead_days"}
    times = [datetime.fromisoformat(e["send_at"]) for e in plan]
    assert times == sorted(times)
    tuphap = [e for e in plan if e["key"] == "2026-06-10/phong-van-hoa-xa-hoi"]
    assert tuphap and {"event": "bao-cao-6-thang", "start": "2026-06-10", "lead_days": 0} \
        in tuphap[0]["items"]


def test_plan_table_and_unknown_unit() -> None:
    table = run_cli("plan", "--from", "2026-06-01", "--to", "2026-06-30")
    assert table.status == 0
    assert "Thứ Hai, 01/06/2026" in table.stdout and "thư nhắc việc" in table.stdout
    bad = run_cli("plan", "--unit", "khong-co")
    assert bad.status == 2
    assert '--unit "khong-co" không phải mã đơn vị' in bad.stderr


def test_send_days_match_the_plan_without_building_it() -> None:
    from tests.conftest import SHIPPED_CONFIG

    config = load_config(SHIPPED_CONFIG)
    start, end = date(2026, 1, 1), date(2027, 12, 31)
    planned = sorted({d.send_at.date() for d in plan_reminders(config, start, end)})
    assert send_days(config, start, end) == planned

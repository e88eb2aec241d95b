"""Follow-up without a browser: config, overdue planning, confirmations stopping
reminders (planned rows included), escalations listing exactly the unconfirmed units,
the register's JSON/CSV/XLSX, and the `status`, `confirm` and `simulate` commands."""

from __future__ import annotations

import asyncio
import csv
import email
import email.policy
import io
import json
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from daemon_process import outbox_messages
from followup_helpers import DUE, EVENT, write_followup_deployment
from openpyxl import load_workbook

from scheduler.cli import main
from scheduler.clock import FixedClock
from scheduler.config import load_config
from scheduler.delivery import Delivery
from scheduler.errors import ConfigError
from scheduler.followup.escalation import escalation_digests
from scheduler.followup.mail import EscalationRenderer
from scheduler.followup.register import (
    build_register,
    register_csv,
    register_json,
    register_xlsx,
)
from scheduler.mail import open_transport
from scheduler.reminders import plan_reminders
from scheduler.store import Confirmation, open_store
from tests.conftest import run_cli

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _at(day_offset: int, hour: int = 8) -> datetime:
    return datetime.combine(DUE + timedelta(days=day_offset), time(hour), tzinfo=VN)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_followup_deployment(tmp_path / "d")


def _messages(state: Path) -> list[email.message.EmailMessage]:
    found = []
    for path in outbox_messages(state):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        found.append(message)
    return found


def _deliver(config_path: Path, moment: datetime) -> None:
    config = load_config(config_path)

    async def run() -> None:
        with open_store(config) as ledger:
            async with open_transport(config) as transport:
                await Delivery(config, ledger, transport, FixedClock(moment)).deliver_due(moment)

    asyncio.run(run())


def test_followup_section_errors_name_the_key_and_what_was_expected(
        tmp_path: Path, english: None) -> None:
    path = write_followup_deployment(tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        "overdue_days = [1, 3]", 'overdue_days = [0, "x"]\nkinds = ["deadlines"]\n'
        'include_events = ["khong-co"]\nlink_valid_days = 0')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    messages = "\n".join(str(p) for p in caught.value.problems)
    assert "overdue_days [0, 'x'] is not a list of working days" in messages
    assert 'kinds "deadlines" is not a kind' in messages
    assert 'include_events: no event "khong-co"' in messages
    assert "link_valid_days 0 must be 1..366" in messages
    assert "config.toml:" in messages


def test_overdue_items_are_planned_on_the_configured_working_days_after_the_due_day(
        config_path: Path) -> None:
    config = load_config(config_path)
    digests = plan_reminders(config, DUE, DUE + timedelta(days=14))
    overdue = {(d.send_at.date().isoformat(), d.unit, d.items[0].overdue_days)
               for d in digests if d.items[0].overdue_days}
    # Mon 22/6 is the 1st working day after Fri 19/6, Wed 24/6 the 3rd; not the coordinator.
    assert overdue == {(day, unit, n) for day, n in (("2026-06-22", 1), ("2026-06-24", 3))
                       for unit in ("phong-a", "phong-b", "phong-c")}
    assert all(d.subject.startswith("[Nhắc việc] Quá hạn") for d in digests
               if d.items[0].overdue_days)


def test_a_confirmed_unit_gets_no_further_reminders_even_already_planned_ones(
        config_path: Path) -> None:
    config = load_config(config_path)
    state = config.state_dir
    _deliver(config_path, _at(-7))           # Fri 12/6: lead 7 to everyone
    assert len(_messages(state)) == 4
    # Plan the 18/6 rows already (the daemon plans each day as it comes), then confirm.
    with open_store(config) as ledger:
        Delivery(config, ledger, open_transport(config), FixedClock(_at(-1))).plan_window(
            DUE - timedelta(days=1), DUE + timedelta(days=5))
        planned_a = [k for k in ledger.states([f"phong-a/{EVENT}/2026/1"])]
        assert planned_a == [f"phong-a/{EVENT}/2026/1"]
        assert ledger.confirm(Confirmation("phong-a", EVENT, DUE, _at(-2, 10), "unit",
                                           "Báo cáo số 12/BC-UBND", f"{EVENT}/2026"))
        assert not ledger.confirm(Confirmation("phong-a", EVENT, DUE, _at(-2, 11), "unit"))
        assert ledger.states([f"phong-a/{EVENT}/2026/1"]) == {}
    _deliver(config_path, _at(-1))           # Thu 18/6: lead 1
    after = _messages(state)[4:]
    assert sorted(str(m["To"]).split("<")[1].rstrip(">") for m in after) == [
        "phongb@hoaan.example.gov.vn", "phongc@hoaan.example.gov.vn",
        "vhxh@hoaan.example.gov.vn"]
    _deliver(config_path, _at(3))            # Mon 22/6: overdue 1 + escalation
    overdue = _messages(state)[7:]
    recipients = sorted(str(m["To"]).split("<")[1].rstrip(">") for m in overdue)
    assert recipients == ["phongb@hoaan.example.gov.vn", "phongc@hoaan.example.gov.vn",
                          "vhxh@hoaan.example.gov.vn"]
    escalation = next(m for m in overdue if "vhxh" in str(m["To"]))
    body = escalation.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Phòng B" in text and "Phòng C" in text and "Phòng A" not in text
    assert "Quá hạn 1 ngày" in text and "/so-theo-doi/" in text
    for message in overdue:
        if "vhxh" not in str(message["To"]):
            assert str(message["Subject"]).startswith("[Nhắc việc] Quá hạn 1 ngày")
            part = message.get_body(("plain",))
            assert part is not None and "/xac-nhan/" in part.get_content()


def test_the_register_json_csv_and_xlsx_carry_the_same_rows(config_path: Path) -> None:
    config = load_config(config_path)
    with open_store(config) as ledger:
        ledger.confirm(Confirmation("phong-b", EVENT, DUE, _at(-1, 9), "coordinator",
                                    "Số 7/BC-UBND", f"{EVENT}/2026"))
        confirmations = ledger.confirmations(DUE, DUE)
    rows = build_register(config, 2026, confirmations, DUE + timedelta(days=5))
    assert [(r["unit"], r["by"], r["overdue_days"]) for r in register_json(rows)] == [
        ("phong-a", None, 3), ("phong-b", "coordinator", 0), ("phong-c", None, 3)]
    data = register_csv(rows, config)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    book = load_workbook(io.BytesIO(register_xlsx(rows, config, 2026)), read_only=True)
    sheet = book.worksheets[0]
    from_xlsx = [["" if v is None else str(v) for v in row]
                 for row in sheet.iter_rows(values_only=True)]
    assert parsed == from_xlsx
    assert [r[3] for r in parsed[1:]] == ["phong-a", "phong-b", "phong-c"]
    assert parsed[2][7] == "Số 7/BC-UBND"


def test_status_and_confirm_commands(config_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICHNHAC_NOW", "2026-06-23T09:00:00+07:00")
    args = ["--config", str(config_path)]
    assert main([*args, "confirm", "phong-c", EVENT, "2026-06-19", "--ref", "Số 3/BC"]) == 0
    assert "Đã xác nhận" in capsys.readouterr().out
    assert main([*args, "status", "--year", "2026", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["unit"], r["by"], r["ref"], r["overdue_days"]) for r in rows] == [
        ("phong-a", None, None, 2), ("phong-b", None, None, 2),
        ("phong-c", "operator", "Số 3/BC", 0)]
    assert rows[2]["confirmed_at"].startswith("2026-06-23T09:00:00")
    assert main([*args, "confirm", "phong-c", EVENT, "2026-06-19", "--undo"]) == 0
    capsys.readouterr()
    assert main([*args, "status", "--unit", "phong-c", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["confirmed_at"] is None
    assert main([*args, "confirm", "phong-c", EVENT, "2026-06-18"]) == 2
    assert "không có lần nào đến hạn ngày 2026-06-18" in capsys.readouterr().err
    assert main([*args, "confirm", "phong-vhxh", EVENT, "2026-06-19"]) == 2
    assert "không chịu trách nhiệm về" in capsys.readouterr().err
    assert main([*args, "status", "--unit", "khong-co"]) == 2


def test_simulate_replays_confirmations_and_reports_bad_lines(
        config_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replay = config_path.parent / "xac-nhan.csv"
    replay.write_text("unit,event,due,at,ref\n"
                      f"phong-a,{EVENT},2026-06-19,2026-06-15T10:00,Số 12/BC\n"
                      f"phong-b,{EVENT},2026-06-23,2026-06-15,\n"
                      f"phong-x,{EVENT},2026-06-19,hôm qua,\n", encoding="utf-8")
    args = ["--config", str(config_path), "simulate", "--from", "2026-06-01", "--to",
            "2026-06-30", "--confirmations", str(replay)]
    assert main(args) == 1
    err = capsys.readouterr().err
    # Vietnamese by default (the suite's LANGUAGE=vi), English on request.
    assert 'xac-nhan.csv:3: sự kiện "' in err and "xac-nhan.csv:4: at" in err
    assert "không phải ngày giờ" in err
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANGUAGE", "en")
        assert main(args) == 1
    err = capsys.readouterr().err
    assert 'xac-nhan.csv:3: event "' in err and "is not a date-time" in err
    replay.write_text("unit,event,due,at,ref\n"
                      f"phong-a,{EVENT},2026-06-19,2026-06-15T10:00,Số 12/BC\n",
                      encoding="utf-8")
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    # 12/6 x4, 18/6 x3 (not phong-a), 22/6 and 24/6: 2 units + the coordinator, 26/6 x4.
    assert report["sent"] == 4 + 3 + 3 + 3 + 4
    # simulate writes into its own ledger and outbox, under <state dir>/simulation/.
    state = config_path.parent / "state" / "simulation"
    to_a = [m for m in _messages(state) if "phonga@" in str(m["To"])]
    assert len(to_a) == 2   # 12/6 deadline, 26/6 observance


def test_escalation_emails_carry_the_reply_to_of_reminders(config_path: Path) -> None:
    # The escalation renderer built its own headers and left [mail] reply_to out.
    from scheduler.followup.escalation import escalation_digests
    from scheduler.followup.mail import EscalationRenderer

    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace(
        "[mail]\n", '[mail]\nreply_to = "Phòng VHXH <vhxh@hoaan.example.gov.vn>"\n', 1),
        encoding="utf-8")
    config = load_config(config_path)
    digest = escalation_digests(config, DUE, DUE + timedelta(days=14))[0]
    data = EscalationRenderer(config).outgoing(digest, "0" * 32, _at(3)).data
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert "vhxh@hoaan.example.gov.vn" in str(message["Reply-To"])


def test_check_warns_of_a_followed_event_with_nobody_to_report_to(config_path: Path) -> None:
    # Units got confirm links, but with no report_to and no coordinator nobody was ever
    # told who had not confirmed, and `check` said "ok" without a word.
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace('coordinator = "phong-vhxh"\n', ""), encoding="utf-8")
    result = run_cli("--config", str(config_path), "check", env={"LANGUAGE": "en"})
    assert result.status == 0, result.stderr
    calendar = config_path.parent / "calendar.toml"
    line = next(n for n, text in enumerate(calendar.read_text(encoding="utf-8").splitlines(), 1)
                if text.strip() == 'id = "bao-cao-6-thang"') - 1
    assert (f'{calendar}:{line}: warning: event "bao-cao-6-thang": follow-up asks its units '
            "to confirm, but it has no report_to") in result.stderr
    # The event with its own report_to, and the deployment with a coordinator, are fine.
    config_path.write_text(text, encoding="utf-8")
    assert "follow-up asks" not in run_cli("--config", str(config_path), "check",
                                           env={"LANGUAGE": "en"}).stderr


def test_an_escalation_names_at_most_a_hundred_units_and_counts_the_rest(
        config_path: Path) -> None:
    # A national deadline's escalation listed all 33,550 units by name: a 1 MB email.
    extra = "".join(f'\n[[unit]]\nid = "xa-{n:03d}"\nname = "UBND xã số {n:03d}"\n'
                    f'email = ["xa{n:03d}@hoaan.example.gov.vn"]\n' for n in range(150))
    config_path.write_text(config_path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    config = load_config(config_path)
    day = _at(3).date()   # Mon 22/6: the first working day after the due day (Fri 19/6)
    (digest,) = escalation_digests(config, day, day)
    message = EscalationRenderer(config).outgoing(digest, "t" * 32, _at(3))
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    text_part, html_part = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = str(text_part.get_content()), str(html_part.get_content())
    assert "Chưa xác nhận (153 đơn vị):" in text     # phong-a/b/c and the 150 communes
    assert text.count("\n     + ") == 101           # 100 names and the "and N more" line
    assert "… và 53 đơn vị khác (xem đầy đủ trong sổ theo dõi)" in text
    assert html.count("<li>") == 101 and "… và 53 đơn vị khác" in html
    assert "Hạn báo cáo: Thứ Sáu, 19/06/2026" in text

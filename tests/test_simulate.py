"""`lichnhac simulate` on the shipped config: a whole year to a real SMTP server (`--live`),
the safe default (its own ledger and outbox), and that it leaves a live deployment alone.
Each run is a real subprocess, as an operator would type it."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

from scheduler.clock import FixedClock
from scheduler.config import load_config
from scheduler.delivery import Delivery
from scheduler.mail import open_transport
from scheduler.store import open_store
from tests.conftest import run_cli
from tests.smtp_helpers import SmtpServer, shipped_config_copy

YEAR = ("--from", "2026-01-01", "--to", "2026-12-31")


def _plan(config: Path) -> list[dict[str, object]]:
    result = run_cli("--config", str(config), "plan", *YEAR, "--format", "json")
    assert result.status == 0, result.stderr
    plan = result.json()
    assert isinstance(plan, list)
    return plan


def test_a_simulated_year_reaches_a_real_smtp_server_once(tmp_path: Path) -> None:
    with SmtpServer() as server:
        config = shipped_config_copy(tmp_path, transport="smtp", port=server.port)
        plan = _plan(config)
        first = run_cli("--config", str(config), "simulate", "--live", *YEAR, timeout=300)
        assert first.status == 0, first.stderr
        assert first.json() == {"planned": len(plan), "sent": len(plan), "already_sent": 0,
                                "failed": 0, "missed": 0}
        received = server.received
        assert len(received) == len(plan) > 300

        second = run_cli("--config", str(config), "simulate", "--live", *YEAR, timeout=300)
        assert second.status == 0, second.stderr
        assert second.json() == {"planned": len(plan), "sent": 0, "already_sent": len(plan),
                                 "failed": 0, "missed": 0}
        assert server.count() == len(plan)

    workdays = load_config(config).workdays()
    by_key = {str(p["key"]): p for p in plan}
    names = {"phong-van-hoa-xa-hoi": "Phòng Văn hóa – Xã hội", "tram-y-te": "Trạm Y tế xã"}
    for item in received:
        message = item.message()
        planned = by_key[str(message["X-Lichnhac-Digest"])]
        assert str(message["Subject"]) == planned["subject"]
        assert item.recipients == tuple(planned["to"])  # type: ignore[arg-type]
        sent = datetime.fromisoformat(str(planned["send_at"]))
        assert message["Date"].datetime == sent
        assert workdays.is_working_day(sent.date())
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert text.startswith("Kính gửi: ")
        unit = str(planned["unit"])
        if unit in names:
            assert f"Kính gửi: {names[unit]}" in text
        assert f"/feeds/units/{unit}.ics" in text
        assert str(message["Auto-Submitted"]) == "auto-generated"
    assert len({r.message_id for r in received}) == len(received)


def test_simulate_by_default_writes_readable_eml_files_to_its_own_outbox(
        tmp_path: Path) -> None:
    config = shipped_config_copy(tmp_path)
    window = ("--from", "2026-06-01", "--to", "2026-06-30")
    plan = run_cli("--config", str(config), "plan", *window, "--format", "json").json()
    assert isinstance(plan, list) and plan
    result = run_cli("--config", str(config), "simulate", *window)
    assert result.status == 0, result.stderr
    assert result.json()["sent"] == len(plan)  # type: ignore[index]
    assert "var/simulation/outbox/new" in result.stderr
    assert not (tmp_path / "var" / "outbox").exists()
    assert not (tmp_path / "var" / "ledger.sqlite3").exists()
    files = sorted((tmp_path / "var" / "simulation" / "outbox" / "new").glob("*.eml"))
    assert len(files) == len(plan)
    subjects = sorted(str(p["subject"]) for p in plan)
    found = []
    for path in files:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(str(message["Subject"]))
        assert message.get_body(("plain",)) is not None
        assert [p.get_filename() for p in message.iter_attachments()] == ["nhac-viec.ics"]
        assert path.read_bytes().isascii()  # 7-bit clean: any client or server takes it
    assert sorted(found) == subjects
    again = run_cli("--config", str(config), "simulate", *window).json()
    assert again["sent"] == 0 and again["already_sent"] == len(plan)  # type: ignore[index]
    assert len(list((tmp_path / "var" / "simulation" / "outbox" / "new").glob("*.eml"))) \
        == len(plan)


def test_simulate_rejects_a_window_that_ends_before_it_starts(tmp_path: Path) -> None:
    config = shipped_config_copy(tmp_path)
    result = run_cli("--config", str(config), "simulate", "--from", "2026-06-02",
                     "--to", "2026-06-01")
    assert result.status == 2
    assert "--to 2026-06-01 đứng trước --from 2026-06-02" in result.stderr
    assert "Traceback" not in result.stderr


def test_simulate_reports_permanent_failures(tmp_path: Path) -> None:
    window = ("--from", "2026-06-01", "--to", "2026-06-30")
    with SmtpServer(refuse=["tramyte@hoaan.example.gov.vn"]) as server:
        config = shipped_config_copy(tmp_path, transport="smtp", port=server.port)
        plan = run_cli("--config", str(config), "plan", *window, "--format", "json").json()
        assert isinstance(plan, list)
        refused = [p for p in plan if p["unit"] == "tram-y-te"]
        result = run_cli("--config", str(config), "simulate", "--live", *window)
        assert result.status == 0, result.stderr
        assert result.json() == {"planned": len(plan), "sent": len(plan) - len(refused),
                                 "already_sent": 0, "failed": len(refused), "missed": 0}
        for digest in refused:
            assert f"thất bại: {digest['key']}: " in result.stderr
        assert "550 5.1.1 no such mailbox" in result.stderr
        # Failed is final: a second run neither resends nor retries it.
        again = run_cli("--config", str(config), "simulate", "--live", *window).json()
        assert again == {"planned": len(plan), "sent": 0,
                         "already_sent": len(plan) - len(refused), "failed": 0, "missed": 0}
        assert len(server.received) == len(plan) - len(refused)


FUTURE = (date(2027, 2, 15), date(2027, 3, 31))


def _plant_future_reminders(config_path: Path) -> dict[str, str]:
    """The live ledger of a deployment whose daemon has planned FUTURE but not sent it."""
    config = load_config(config_path)
    with open_store(config) as ledger:
        delivery = Delivery(config, ledger, open_transport(config),
                            FixedClock(datetime(2027, 2, 1, 8, tzinfo=config.timezone)))
        digests = delivery.plan_window(*FUTURE)
        keys = [item.key for digest in digests for item in digest.items]
        states = dict(ledger.states(keys))
    assert len(digests) > 10 and set(states.values()) == {"planned"}
    return states


def _live_states(config_path: Path, keys: list[str]) -> dict[str, str]:
    with open_store(load_config(config_path)) as ledger:
        return dict(ledger.states(keys))


def test_simulate_over_the_future_leaves_the_live_ledger_and_mail_server_alone(
        tmp_path: Path) -> None:
    window = ("--from", FUTURE[0].isoformat(), "--to", FUTURE[1].isoformat())
    with SmtpServer() as server:
        config = shipped_config_copy(tmp_path, transport="smtp", port=server.port)
        before = _plant_future_reminders(config)
        result = run_cli("--config", str(config), "simulate", *window, timeout=300)
        assert result.status == 0, result.stderr
        report = result.json()
        assert isinstance(report, dict) and report["sent"] == report["planned"] > 10
        assert _live_states(config, list(before)) == before  # still planned: the daemon sends
        assert server.count() == 0                           # nothing left for a real server
        assert not (tmp_path / "var" / "outbox").exists()
        simulated = list((tmp_path / "var" / "simulation" / "outbox" / "new").glob("*.eml"))
        assert len(simulated) == report["sent"]

        # The danger is real: `--live`, asked for explicitly, does what the default avoids.
        live = run_cli("--config", str(config), "simulate", "--live", *window, timeout=300)
        assert live.status == 0, live.stderr
        assert set(_live_states(config, list(before)).values()) == {"sent"}
        assert server.count() == report["sent"]


def test_simulate_into_a_folder_and_live_exclude_each_other(tmp_path: Path) -> None:
    config = shipped_config_copy(tmp_path)
    result = run_cli("--config", str(config), "simulate", "--live", "--into",
                     str(tmp_path / "sim"), "--from", "2026-06-01", "--to", "2026-06-02")
    assert result.status == 2
    assert "--into và --live loại trừ nhau" in result.stderr
    assert "Traceback" not in result.stderr

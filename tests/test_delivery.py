"""The delivery pipeline against a real SMTP server that fails on purpose: temporary faults
end delivered exactly once, permanent ones end failed and visible; catch-up after downtime."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from scheduler import config as config_module
from scheduler.clock import FixedClock
from scheduler.config import Config
from scheduler.delivery import Delivery, DeliveryReport, backoff
from scheduler.mail import open_transport
from scheduler.store import open_store
from scheduler.store.postgresql import PostgresqlStore
from tests.smtp_helpers import SmtpServer, write_deployment
from tests.store_backends import BACKENDS

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SEND_AT = datetime(2026, 6, 10, 8, 0, tzinfo=HCM)  # 7 days before Wednesday 17/6/2026
EVENT = '''
[[event]]
id = "bao-cao"
title = "Hạn gửi báo cáo quý"
kind = "deadline"
date = "2026-06-17"
units = ["{unit}"]
lead_days = [7]
basis = "Kế hoạch số 45/KH-UBND ngày 22/4/2024"
'''


STORE_URL: str | None = None    # this test's PostgreSQL database, or None: SQLite


@pytest.fixture(autouse=True, params=BACKENDS)
def _backend(request: pytest.FixtureRequest) -> None:
    """Every test on both store back-ends: the config loaded points at PostgreSQL."""
    global STORE_URL
    STORE_URL = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        with PostgresqlStore(url, owner="setup", check_schema=False) as setup:
            setup.upgrade()
        STORE_URL = url


def load_config(*args: Any, **kwargs: Any) -> Config:
    return dataclasses.replace(config_module.load_config(*args, **kwargs),
                               database_url=STORE_URL)


def _config(tmp_path: Path, port: int, unit: str = "tram-y-te") -> Config:
    return load_config(write_deployment(tmp_path, EVENT.format(unit=unit), transport="smtp",
                                        port=port, timeout=0.5))


async def _run_until_settled(config: Config, start: datetime,
                             steps: int = 12) -> tuple[DeliveryReport, list[datetime]]:
    """deliver_due at `start`, then at each next_send_time, like the daemon does."""
    total, moments = DeliveryReport(), []
    clock = FixedClock(start)
    with open_store(config) as ledger:
        async with open_transport(config) as transport:
            delivery = Delivery(config, ledger, transport, clock)
            now = start
            for _ in range(steps):
                clock.set(now)
                moments.append(now)
                step = await delivery.deliver_due(now)
                total.add(step)
                if not step.retrying:
                    break
                following = delivery.next_send_time(now)
                assert following is not None
                now = following
            total.already_sent = delivery.counts()["sent"]
    return total, moments


# The faults with a server that offers PIPELINING (the client writes MAIL, RCPT and DATA at
# once and reads the replies in order) and with one that does not (one command at a time).
PIPELINING = pytest.mark.parametrize("pipelining", [True, False],
                                     ids=["pipelining", "lockstep"])


@PIPELINING
def test_temporary_faults_end_delivered_exactly_once(tmp_path: Path, pipelining: bool) -> None:
    with SmtpServer(script=["421", "451", "drop", "stall"], stall_seconds=3,
                    pipelining=pipelining) as server:
        config = _config(tmp_path, server.port)
        report, moments = asyncio.run(_run_until_settled(config, SEND_AT))
        assert [a for _, a in server.attempts] == ["421", "451", "drop", "stall", "ok"]
        (received,) = server.received
    assert report.sent == 1 and report.failed == 0 and report.retrying == 4
    # Exponential backoff: 1, 2, 4, 8 minutes.
    assert [b - a for a, b in itertools.pairwise(moments)] == [
        backoff(0), backoff(1), backoff(2), backoff(3)]
    assert backoff(0) == timedelta(minutes=1) and backoff(30) == timedelta(hours=1)
    # Every attempt carried the same Message-ID; the one accepted is dated at its attempt.
    assert {mid for mid, _ in server.attempts} == {received.message_id}
    assert received.message()["Date"].datetime == moments[-1]
    assert received.recipients == ("tramyte@example.gov.vn", "yte2@example.gov.vn")


@PIPELINING
def test_a_permanent_refusal_ends_failed_reported_and_not_retried(tmp_path: Path,
                                                                  pipelining: bool) -> None:
    with SmtpServer(script=["550"], pipelining=pipelining) as server:
        config = _config(tmp_path, server.port)
        report, _ = asyncio.run(_run_until_settled(config, SEND_AT))
        assert report.failed == 1 and report.sent == 0 and report.retrying == 0
        assert "550" in report.failures[0] and report.failures[0].startswith(
            "2026-06-10/tram-y-te: ")
        later, _ = asyncio.run(_run_until_settled(config, SEND_AT + timedelta(hours=2)))
        assert later.sent == later.failed == 0
        assert len(server.attempts) == 1 and server.received == []
    with open_store(config) as ledger:
        assert isinstance(ledger, PostgresqlStore) == (STORE_URL is not None)
        assert ledger.counts()["failed"] == 1
        assert "550 5.7.1 message rejected" in ledger.errors("failed")[0][1]


@PIPELINING
def test_every_recipient_refused_is_permanent(tmp_path: Path, pipelining: bool) -> None:
    with SmtpServer(refuse=["vanhoaxahoi@example.gov.vn"], pipelining=pipelining) as server:
        config = _config(tmp_path, server.port, unit="phong-van-hoa-xa-hoi")
        report, _ = asyncio.run(_run_until_settled(config, SEND_AT))
        assert server.attempts == []        # no DATA content went out
    assert report.failed == 1 and "recipients refused" in report.failures[0]
    assert "vanhoaxahoi@example.gov.vn: 550 5.1.1 no such mailbox" in report.failures[0]


@PIPELINING
def test_some_recipients_refused_is_sent_to_the_others_once(
        tmp_path: Path, pipelining: bool, caplog: pytest.LogCaptureFixture) -> None:
    with SmtpServer(refuse=["yte2@example.gov.vn"], pipelining=pipelining) as server:
        config = _config(tmp_path, server.port)
        report, _ = asyncio.run(_run_until_settled(config, SEND_AT))
        (received,) = server.received
    assert report.sent == 1 and report.failed == 0
    assert received.recipients == ("tramyte@example.gov.vn",)
    assert "yte2@example.gov.vn: 550 5.1.1 no such mailbox" in caplog.text


def test_no_server_listening_is_temporary(tmp_path: Path) -> None:
    with SmtpServer() as server:
        port = server.port
    config = _config(tmp_path, port)  # the port is closed now
    report, _ = asyncio.run(_run_until_settled(config, SEND_AT, steps=1))
    assert report.retrying == 1 and report.failed == 0
    with SmtpServer() as server:
        retry = SEND_AT + backoff(0)
        config = _config(tmp_path, server.port)
        again, _ = asyncio.run(_run_until_settled(config, retry))
        assert again.sent == 1 and len(server.received) == 1


def test_catch_up_sends_late_inside_the_grace_window(tmp_path: Path) -> None:
    with SmtpServer() as server:
        config = _config(tmp_path, server.port)
        back = SEND_AT + timedelta(days=2, hours=1)  # Friday 12/6, the daemon was down
        report, _ = asyncio.run(_run_until_settled(config, back))
        (received,) = server.received
    assert report.sent == 1 and report.late == 1 and report.planned == 1
    message = received.message()
    assert str(message["Subject"]) == "[Nhắc việc] Nhắc muộn: Hạn gửi báo cáo quý"
    body = message.get_body(("plain",))
    assert body is not None and "Thư nhắc muộn" in body.get_content()
    assert "Còn 5 ngày (đến 17/06/2026)" in body.get_content()
    assert message["Date"].datetime == back


def test_older_reminders_become_missed_and_are_reported(tmp_path: Path) -> None:
    with SmtpServer() as server:
        config = _config(tmp_path, server.port)
        asyncio.run(_run_until_settled(config, SEND_AT - timedelta(days=9)))  # planned up to 1/6
        back = SEND_AT + timedelta(days=6)  # 16/6: more than 3 days after 10/6
        report, _ = asyncio.run(_run_until_settled(config, back))
        assert server.received == []
    assert report.missed == 1 and report.missed_keys == ["2026-06-10/tram-y-te"]
    with open_store(config) as ledger:
        assert ledger.counts()["missed"] == 1


def test_next_send_time_is_the_next_planned_send(tmp_path: Path) -> None:
    config = _config(tmp_path, 25)
    with open_store(config) as ledger:
        delivery = Delivery(config, ledger, open_transport(config), FixedClock(SEND_AT))
        assert delivery.next_send_time(SEND_AT - timedelta(days=30)) == SEND_AT
        assert delivery.next_send_time(SEND_AT) is None
        assert delivery.last_delivery is None
        assert delivery.counts() == {"planned": 0, "sending": 0, "sent": 0, "failed": 0,
                                     "missed": 0}


def test_next_send_time_crosses_a_long_quiet_stretch(tmp_path: Path) -> None:
    events = EVENT.format(unit="tram-y-te") + EVENT.format(unit="tram-y-te").replace(
        'id = "bao-cao"', 'id = "bao-cao-sau"').replace("2026-06-17", "2026-11-17")
    config = load_config(write_deployment(tmp_path, events))
    with open_store(config) as ledger:
        delivery = Delivery(config, ledger, open_transport(config), FixedClock(SEND_AT))
        # 10/6 → next is 10/11/2026 (Tuesday), five months on: beyond the first windows.
        assert delivery.next_send_time(SEND_AT) == datetime(2026, 11, 10, 8, 0, tzinfo=HCM)


def test_a_template_that_fails_to_render_ends_failed_not_stuck(tmp_path: Path) -> None:
    folder = tmp_path / "mau-thu"
    folder.mkdir()
    (folder / "reminder.txt.j2").write_text("Kính gửi: {{ khong_co_bien_nay }}\n",
                                            encoding="utf-8")
    path = write_deployment(tmp_path, EVENT.format(unit="tram-y-te"))
    path.write_text(path.read_text(encoding="utf-8").replace(
        'transport = "outbox"', 'transport = "outbox"\ntemplates = "mau-thu"'), encoding="utf-8")
    config = load_config(path)
    report, _ = asyncio.run(_run_until_settled(config, SEND_AT))
    assert report.failed == 1 and "khong_co_bien_nay" in report.failures[0]
    with open_store(config) as ledger:
        assert ledger.counts()["sending"] == 0 and ledger.counts()["failed"] == 1


def test_a_restart_with_a_new_event_due_today_sends_it(tmp_path: Path) -> None:
    with SmtpServer() as server:
        config = _config(tmp_path, server.port)
        first, _ = asyncio.run(_run_until_settled(config, SEND_AT))
        assert first.sent == 1
        # Same day, new config: another unit is added to today's event (a restart).
        path = tmp_path / "config.toml"
        (tmp_path / "cal.toml").write_text((tmp_path / "cal.toml").read_text(
            encoding="utf-8").replace('units = ["tram-y-te"]',
                                      'units = ["tram-y-te", "phong-van-hoa-xa-hoi"]'),
            encoding="utf-8")
        config = load_config(path)
        second, _ = asyncio.run(_run_until_settled(config, SEND_AT + timedelta(hours=2)))
        assert second.sent == 1
        assert [r.recipients for r in server.received] == [
            ("tramyte@example.gov.vn", "yte2@example.gov.vn"),
            ("vanhoaxahoi@example.gov.vn",)]


def test_a_send_time_passing_during_start_up_is_due_at_once_not_skipped(
        tmp_path: Path) -> None:
    # The catch-up delivery ran at 07:59:50; building the feeds took until 08:00:30. The
    # 08:00 reminder is due at once, not at the next send time months later.
    from types import SimpleNamespace

    from scheduler.daemon import Daemon
    from scheduler.notify import Notifier

    config = _config(tmp_path, 25)
    clock = FixedClock(SEND_AT - timedelta(seconds=10))
    with open_store(config) as ledger:
        delivery = Delivery(config, ledger, open_transport(config), clock)
        daemon = Daemon(config, clock, Notifier(None))
        daemon.parts = SimpleNamespace(delivery=delivery)  # type: ignore[assignment]
        daemon.delivered_through = clock.now()
        clock.set(SEND_AT + timedelta(seconds=30))
        daemon._schedule_delivery()
        assert daemon.next_reminder == SEND_AT
        # Once that run has happened, the next wake-up is the next send time.
        daemon.delivered_through = clock.now()
        daemon._schedule_delivery()
        assert daemon.next_reminder is None

"""Reminders from the running daemon: sent when their time comes, caught up after downtime.

The daemon's clock starts at `$LICHNHAC_NOW` and runs forward in real time, so a
reminder due at 08:00 is reached a few seconds after start. Mail goes to a real aiosmtpd
server on loopback, or to the outbox Maildir.
"""

from __future__ import annotations

import asyncio
import email
import email.utils
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from daemon_process import CALENDAR, DaemonProcess, outbox_messages, write_deployment


@dataclass
class Inbox:
    """Messages an SMTP server on loopback received; `stall` holds DATA unanswered."""

    port: int = 0
    messages: list[Message] = field(default_factory=list)
    stall: bool = False
    data_started: threading.Event = field(default_factory=threading.Event)
    received: threading.Event = field(default_factory=threading.Event)


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.inbox.data_started.set()
        if self.inbox.stall:
            await asyncio.sleep(3600)
        self.inbox.messages.append(email.message_from_bytes(envelope.original_content or b""))
        self.inbox.received.set()
        return "250 OK"


def recipient(message: Message) -> str:
    return email.utils.parseaddr(str(message["To"]))[1]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def serve() -> asyncio.Server:
        return await loop.create_server(lambda: SMTP(_Handler(box), hostname="mx.test"),
                                        "127.0.0.1", 0)

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        box.port = server.sockets[0].getsockname()[1]
        started.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    yield box
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_reminder_is_sent_when_its_time_comes(tmp_path: Path, inbox: Inbox) -> None:
    # phong-a's reminder is due Tue 9/6/2026 08:00; the daemon's clock starts 30 s before
    # (margin for a slow start on a loaded machine).
    config = write_deployment(tmp_path, transport="smtp", smtp_port=inbox.port)
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-06-09T07:59:30+07:00"}) as daemon:
        ready = daemon.wait_ready()
        assert "next reminder 2026-06-09 08:00" in daemon.messages[ready]["STATUS"]
        assert inbox.messages == []  # not early
        assert inbox.received.wait(45), daemon.stderr
        message = inbox.messages[0]
        assert recipient(message) == "phonga@hoaan.example.gov.vn"
        sent_at = email.utils.parsedate_to_datetime(message["Date"])
        assert sent_at.isoformat().startswith("2026-06-09T08:00"), message["Date"]
        # The next wake-up moved on to phong-b's reminder (Wed 17/6).
        daemon.wait_for(lambda: any("next reminder 2026-06-17 08:00" in m.get("STATUS", "")
                                    for m in daemon.messages), 10, "status update")
        health = json.loads(daemon.get("/healthz").body)
        assert health["next_reminder"] == "2026-06-17T08:00:00+07:00"
        assert health["last_delivery"].startswith("2026-06-09T08:00")
        metrics = daemon.get("/metrics").body.decode()
        assert 'lichnhac_reminders_total{outcome="sent"} 1.0' in metrics
        # The log names what was sent, without the whole address at info level.
        assert "phonga@hoaan" not in daemon.stderr
        assert daemon.stop() == 0
    assert len(inbox.messages) == 1


def test_daemon_started_late_catches_up_before_ready(tmp_path: Path) -> None:
    # Two hours after the 08:00 send time, well inside grace_days = 3.
    config = write_deployment(tmp_path)
    state = tmp_path / "state"
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-06-09T10:00:00+07:00"}) as daemon:
        daemon.wait_ready()
        messages = outbox_messages(state)
        assert len(messages) == 1, daemon.stderr
        parsed = email.message_from_bytes(messages[0].read_bytes())
        assert recipient(parsed) == "phonga@hoaan.example.gov.vn"
        assert daemon.stop() == 0
    # A second start the same day sends nothing again.
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-06-09T10:05:00+07:00"}) as daemon:
        daemon.wait_ready()
        assert daemon.stop() == 0
    assert len(outbox_messages(state)) == 1


def test_sigterm_during_a_stalled_send_exits_0_and_the_ledger_keeps_it(
        tmp_path: Path, inbox: Inbox) -> None:
    inbox.stall = True
    # The SMTP timeout (120 s) outlasts the daemon's bounded shutdown wait (20 s), so the
    # daemon must abandon the send itself.
    config = write_deployment(tmp_path, transport="smtp", smtp_port=inbox.port,
                              smtp_timeout=120)
    env = {"LICHNHAC_NOW": "2026-06-09T07:59:55+07:00"}
    with DaemonProcess(config, env=env) as daemon:
        daemon.wait_ready()
        assert inbox.data_started.wait(45), daemon.stderr
        daemon.signal(signal.SIGTERM)
        daemon.wait_message("STOPPING", timeout=10)
        assert daemon.proc.wait(timeout=40) == 0
        assert "abandoning it; the ledger keeps its unsent reminders" in daemon.stderr
    assert inbox.messages == []
    # Restarted with a working server, the reminder goes out (it was kept, not lost).
    inbox.stall = False
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-06-09T08:30:00+07:00"}) as daemon:
        daemon.wait_ready()
        assert inbox.received.wait(30), daemon.stderr
        assert daemon.stop() == 0
    assert [recipient(m) for m in inbox.messages] == ["phonga@hoaan.example.gov.vn"]


def test_sigterm_during_a_stalled_catch_up_stops_before_ready(tmp_path: Path,
                                                              inbox: Inbox) -> None:
    inbox.stall = True
    config = write_deployment(tmp_path, transport="smtp", smtp_port=inbox.port,
                              smtp_timeout=120)
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-06-09T09:00:00+07:00"}) as daemon:
        # The catch-up send hangs inside start-up: no READY yet.
        assert inbox.data_started.wait(30), daemon.stderr
        daemon.signal(signal.SIGTERM)
        daemon.wait_message("STOPPING", timeout=10)
        assert daemon.proc.wait(timeout=40) == 0
        assert not any(m.get("READY") for m in daemon.messages)
        assert "Traceback" not in daemon.stderr
    assert inbox.messages == []



def test_reload_reschedules_and_switches_transport(tmp_path: Path, inbox: Inbox) -> None:
    # Started on Mon 8/6 at 23:59:10 with send_time 09:00 and the outbox; reloaded to
    # send_time 00:00 over SMTP: the stable "deliver" job moves to Tue 9/6 00:00 and the
    # reminder goes to the SMTP server then. The 50 s before midnight leave room for a
    # slow start and reload on a loaded machine (it flaked with 25 s).
    config = write_deployment(tmp_path, send_time="09:00", smtp_port=inbox.port)
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-06-08T23:59:10+07:00"}) as daemon:
        ready = daemon.wait_ready()
        assert "next reminder 2026-06-09 09:00" in daemon.messages[ready]["STATUS"]
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace('send_time = "09:00"', 'send_time = "00:00"')
                          .replace('transport = "outbox"', 'transport = "smtp"'),
                          encoding="utf-8")
        before = len(daemon.messages)
        daemon.signal(signal.SIGHUP)
        reloaded = daemon.wait_message("READY", after=before + 1, timeout=30)
        assert "next reminder 2026-06-09 00:00" in daemon.messages[reloaded]["STATUS"]
        assert inbox.received.wait(90), daemon.stderr
        sent_at = email.utils.parsedate_to_datetime(inbox.messages[0]["Date"])
        assert sent_at.isoformat().startswith("2026-06-09T00:00"), inbox.messages[0]["Date"]
        assert daemon.stop() == 0
    assert outbox_messages(tmp_path / "state") == []


def test_reload_adding_a_reminder_due_earlier_today_sends_it_now(tmp_path: Path) -> None:
    # At 10:00 on Tue 9/6 the catch-up has sent phong-a's 08:00 reminder. A reload adds an
    # event for phong-b on Wed 10/6 with lead 1: its reminder was due at 08:00 today, so
    # it goes out right after the reload, not tomorrow and not never.
    config = write_deployment(tmp_path)
    state = tmp_path / "state"
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-06-09T10:00:00+07:00"}) as daemon:
        daemon.wait_ready()
        assert len(outbox_messages(state)) == 1
        (tmp_path / "calendar.toml").write_text(CALENDAR + """
[[event]]
id = "tap-huan"
title = "Tập huấn kỹ năng lồng ghép giới"
kind = "activity"
date = "2026-06-10"
units = ["phong-b"]
lead_days = [1]
""", encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        daemon.wait_log(r"after-reload delivery: 1 sent")
        messages = [email.message_from_bytes(p.read_bytes()) for p in outbox_messages(state)]
        assert sorted(recipient(m) for m in messages) == ["phonga@hoaan.example.gov.vn",
                                                          "phongb@hoaan.example.gov.vn"]
        assert daemon.stop() == 0

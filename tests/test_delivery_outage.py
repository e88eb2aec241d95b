"""Outages are reported, not shouted (issue 14, item 8): with the mail server down, a
delivery run logs one warning for the whole run (how many, the next try), and the detail
of each digest only at debug."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.clock import FixedClock
from scheduler.config import load_config
from scheduler.delivery import Delivery
from scheduler.mail import open_transport
from scheduler.store import open_store
from tests.smtp_helpers import write_deployment

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
UNITS = 40
SEND_AT = datetime(2026, 10, 20, 8, 0, tzinfo=HCM)
EVENT = '''
[[event]]
id = "ngay-phu-nu-viet-nam"
title = "Ngày Phụ nữ Việt Nam"
kind = "observance"
date = "10-20"
units = ["all"]
lead_days = [0]
'''


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mail_server_down_logs_one_warning_per_run_not_one_per_digest(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    units = "".join(f'\n[[unit]]\nid = "don-vi-{n:02d}"\nemail = ["dv{n:02d}@example.gov.vn"]\n'
                    for n in range(UNITS))
    units += '\n[[unit]]\nid = "phong-van-hoa-xa-hoi"\n'
    port = _closed_port()
    config = load_config(write_deployment(tmp_path, EVENT, units=units, transport="smtp",
                                          port=port, timeout=2))

    async def run() -> tuple[int, int]:
        with open_store(config) as ledger:
            async with open_transport(config) as transport:
                delivery = Delivery(config, ledger, transport, FixedClock(SEND_AT))
                report = await delivery.deliver_due(SEND_AT)
                return report.retrying, report.sent

    caplog.set_level(logging.DEBUG, logger="scheduler")
    retrying, sent = asyncio.run(run())
    assert (retrying, sent) == (UNITS, 0)
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.WARNING and r.name.startswith("scheduler")]
    assert warnings == [
        f"mail server 127.0.0.1:{port} unreachable or deferring: {UNITS} emails failed for "
        f"now ({UNITS} reminders waiting); next try 2026-10-20 08:01; last error: "
        + warnings[0].rsplit("last error: ", 1)[-1]]
    detail = [r for r in caplog.records if r.levelno == logging.DEBUG
              and r.getMessage().startswith("temporary failure for ")]
    assert len(detail) == UNITS

"""A burst deployment for several nodes, and how to count what an SMTP server received.

`write_burst_deployment(dir, units=N, ...)`: N units (plus the coordinator), each with one
address, and one followed deadline due Wed 10/6/2026 that every unit is reminded of on
Tue 9/6/2026 at 08:00: a burst of N + 1 emails at one instant, each with a confirm link.
The nodes of a test get the same config text (each its own state dir) and the same
rehearsal clock (`shared_clock_env`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from smtp_helpers import Received

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BURST_AT = datetime(2026, 6, 9, 8, 0, tzinfo=VN)
COORDINATOR = "dau-moi"
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+/xac-nhan/[A-Za-z0-9_.~-]+")

CONFIG = """\
timezone = "Asia/Ho_Chi_Minh"
calendars = ["calendar.toml"]
coordinator = "{coordinator}"

[state]
dir = "{state_dir}"
{state_extra}
[web]
listen = "127.0.0.1:0"
base_url = "http://lichnhac.test"

[mail]
from = "Lịch nhắc <nhaclich@hoaan.example.gov.vn>"
transport = "smtp"

[mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
timeout_seconds = 10
max_connections = {connections}
max_per_second = 100000

[reminders]
send_time = "08:00"
grace_days = 3

[followup]
enabled = true
overdue_days = [1]
escalate = false
weekly_summary = false

[[unit]]
id = "{coordinator}"
name = "Phòng Văn hóa – Xã hội (đầu mối)"
email = ["daumoi@hoaan.example.gov.vn"]
"""

UNIT = """
[[unit]]
id = "don-vi-{n:05d}"
name = "Đơn vị số {n}"
email = ["dv{n:05d}@hoaan.example.gov.vn"]
"""

CALENDAR = """\
[[event]]
id = "bao-cao-nhanh"
title = "Hạn gửi báo cáo nhanh về công tác bình đẳng giới"
kind = "deadline"
date = "2026-06-10"
units = ["all"]
lead_days = [1]
"""


def write_burst_deployment(directory: Path, *, units: int, smtp_port: int,
                           state_dir: str = "state", state_extra: str = "",
                           connections: int = 4, name: str = "config.toml") -> Path:
    """`name` (config.toml) + calendar.toml in `directory` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "calendar.toml").write_text(CALENDAR, encoding="utf-8")
    text = CONFIG.format(coordinator=COORDINATOR, state_dir=state_dir,
                         state_extra=state_extra, smtp_port=smtp_port,
                         connections=connections)
    text += "".join(UNIT.format(n=n) for n in range(1, units + 1))
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def shared_clock_env(at: datetime, epoch: float | None = None) -> dict[str, str]:
    """`$LICHNHAC_NOW` that makes every node's clock read `at` at Unix time `epoch`
    (default: now): one rehearsal clock for all the nodes of a test."""
    anchor = time.time() if epoch is None else epoch
    return {"LICHNHAC_NOW": f"{at.isoformat()}@{anchor:.3f}"}


@dataclass(frozen=True)
class Tally:
    """What a burst's receiver saw, counted by Message-ID and by recipient."""

    received: int
    distinct: int                 # distinct Message-IDs
    duplicates: int               # copies beyond the first of a Message-ID
    recipients: int               # distinct recipients reached
    mixed_ids: int                # recipients that got two different Message-IDs

    def lost(self, expected: int) -> int:
        return max(0, expected - self.recipients)


def tally(messages: Iterable[Received]) -> Tally:
    """Count `messages` (one address per unit: a recipient stands for one reminder)."""
    by_id: Counter[str] = Counter()
    ids_of: dict[str, set[str]] = {}
    total = 0
    for message in messages:
        total += 1
        message_id = message.message_id
        by_id[message_id] += 1
        for recipient in message.recipients:
            ids_of.setdefault(recipient, set()).add(message_id)
    return Tally(received=total, distinct=len(by_id),
                 duplicates=sum(n - 1 for n in by_id.values()),
                 recipients=len(ids_of),
                 mixed_ids=sum(1 for ids in ids_of.values() if len(ids) > 1))


def confirm_link(message: Received) -> str:
    """The first confirm link in a reminder (its text part)."""
    for part in message.message().walk():
        if part.get_content_type() == "text/plain":
            found = CONFIRM_LINK.search(part.get_content())
            if found:
                return found.group(0)
    raise AssertionError("no confirm link in the reminder")

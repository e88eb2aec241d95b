"""A small deployment with follow-up on: three units report a deadline to a coordinator.

The deadline "bao-cao-6-thang" is due Friday 19/6/2026, reminded 7 and 1 days before
(Fri 12/6, Thu 18/6), overdue on the 1st and 3rd working day after it (Mon 22/6, Wed 24/6).
The coordinator "phong-vhxh" gets the escalations.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

DUE = date(2026, 6, 19)
UNITS = ("phong-a", "phong-b", "phong-c")
EVENT = "bao-cao-6-thang"

CONFIG = """\
timezone = "Asia/Ho_Chi_Minh"
calendars = ["calendar.toml"]
coordinator = "phong-vhxh"

[state]
dir = "state"

[web]
listen = "127.0.0.1:0"
base_url = "{base_url}"

[mail]
from = "Lịch nhắc <nhaclich@hoaan.example.gov.vn>"
transport = "{transport}"

[mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
timeout_seconds = 5

[reminders]
send_time = "{send_time}"
grace_days = 3

[followup]
enabled = true
overdue_days = [1, 3]
escalate = true

[[unit]]
id = "phong-vhxh"
name = "Phòng Văn hóa – Xã hội"
email = ["vhxh@hoaan.example.gov.vn"]

[[unit]]
id = "phong-a"
name = "Phòng A"
email = ["phonga@hoaan.example.gov.vn"]

[[unit]]
id = "phong-b"
name = "Phòng B"
email = ["phongb@hoaan.example.gov.vn"]

[[unit]]
id = "phong-c"
name = "Phòng C"
email = ["phongc@hoaan.example.gov.vn"]
"""

CALENDAR = """\
[[event]]
id = "bao-cao-6-thang"
title = "Hạn gửi báo cáo 6 tháng về công tác bình đẳng giới"
kind = "deadline"
date = "2026-06-19"
units = ["all"]
lead_days = [7, 1]

[[event]]
id = "ngay-gia-dinh"
title = "Ngày Gia đình Việt Nam"
kind = "observance"
date = "06-28"
units = ["all"]
lead_days = [1]
"""


def write_followup_deployment(directory: Path, transport: str = "outbox", smtp_port: int = 25,
                              send_time: str = "08:00",
                              base_url: str = "http://lichnhac.test") -> Path:
    """Write config.toml and calendar.toml into `directory`; returns config.toml."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "calendar.toml").write_text(CALENDAR, encoding="utf-8")
    config = directory / "config.toml"
    config.write_text(CONFIG.format(transport=transport, smtp_port=smtp_port,
                                    send_time=send_time, base_url=base_url), encoding="utf-8")
    return config

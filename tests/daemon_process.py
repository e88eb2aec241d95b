"""A real `python -m scheduler run` process for the daemon tests.

The test binds the unix datagram socket systemd would (`$NOTIFY_SOCKET`), reads the
daemon's stderr on a thread, and finds the port it bound (the config says port 0) in its
"serving feeds on http://HOST:PORT" log line. Every wait has a timeout.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVING = re.compile(r"serving feeds on http://([^:\s]+):(\d+)")


@dataclass
class HttpResult:
    status: int
    headers: dict[str, str]
    body: bytes


class DaemonProcess:
    """Start, watch and stop one daemon; use as a context manager."""

    def __init__(self, config: Path, env: dict[str, str] | None = None,
                 log_level: str = "info") -> None:
        self.config = config
        # sun_path is at most 107 bytes: pytest's tmp_path can be longer.
        self._sock_dir = tempfile.mkdtemp(prefix="lnh-", dir="/tmp")
        self.notify_path = os.path.join(self._sock_dir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(0.2)
        self._closed = False
        self.messages: list[dict[str, str]] = []
        self.lines: list[str] = []
        self._changed = threading.Condition()
        full_env = {**os.environ, **(env or {}), "NOTIFY_SOCKET": self.notify_path,
                    "PYTHONUNBUFFERED": "1"}
        for name in ("LICHNHAC_DEBUG", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID"):
            if name not in (env or {}):
                full_env.pop(name, None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--config", str(config), "--log-level",
             log_level, "run"], cwd=config.parent, env=full_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._threads = [threading.Thread(target=self._read_stderr, daemon=True),
                         threading.Thread(target=self._read_notify, daemon=True)]
        for thread in self._threads:
            thread.start()
        self.base_url = ""

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def _read_notify(self) -> None:
        while not self._closed:
            try:
                data = self.notify.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if line)
            with self._changed:
                self.messages.append(fields)
                self._changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not predicate()):
                    raise AssertionError(f"timed out waiting for {what}; exit status "
                                         f"{self.proc.poll()}; notify {self.messages}; "
                                         "stderr:\n" + "\n".join(self.lines))
                self._changed.wait(min(left, 0.2))

    def wait_message(self, key: str, value: str = "1", after: int = 0,
                     timeout: float = 60) -> int:
        """Index of the first notify message with KEY=value at or after index `after`."""
        found: list[int] = []

        def seen() -> bool:
            found[:] = [i for i, m in enumerate(self.messages)
                        if i >= after and m.get(key) == value]
            return bool(found)

        self.wait_for(seen, timeout, f"{key}={value}")
        return found[0]

    def wait_log(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        regex = re.compile(pattern)
        match: list[re.Match[str]] = []

        def seen() -> bool:
            match[:] = [m for m in (regex.search(line) for line in self.lines) if m]
            return bool(match)

        self.wait_for(seen, timeout, f"log line /{pattern}/")
        return match[0]

    def wait_ready(self, timeout: float = 60) -> int:
        index = self.wait_message("READY", timeout=timeout)
        host, port = self.wait_log(SERVING.pattern, timeout=5).groups()
        self.base_url = f"http://{host}:{port}"
        return index

    def get(self, path: str, headers: dict[str, str] | None = None) -> HttpResult:
        request = urllib.request.Request(self.base_url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return HttpResult(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return HttpResult(exc.code, dict(exc.headers), exc.read())

    def post(self, path: str, form: dict[str, str]) -> HttpResult:
        """POST a form (application/x-www-form-urlencoded) to `path`."""
        request = urllib.request.Request(
            self.base_url + path, data=urllib.parse.urlencode(form).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return HttpResult(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return HttpResult(exc.code, dict(exc.headers), exc.read())

    def signal(self, signum: signal.Signals) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    @property
    def stderr(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._closed = True
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self.notify.close()
        os.unlink(self.notify_path)
        os.rmdir(self._sock_dir)


CONFIG_TEMPLATE = """\
timezone = "Asia/Ho_Chi_Minh"
calendars = ["calendar.toml"]

[state]
dir = "state"

[web]
listen = "127.0.0.1:0"
base_url = "http://lichnhac.test"

[mail]
from = "Lịch nhắc <nhaclich@hoaan.example.gov.vn>"
transport = "{transport}"

[mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
timeout_seconds = {smtp_timeout}

[reminders]
send_time = "{send_time}"
grace_days = 3

[[unit]]
id = "phong-a"
name = "Phòng A"
email = ["phonga@hoaan.example.gov.vn"]

[[unit]]
id = "phong-b"
name = "Phòng B"
email = ["phongb@hoaan.example.gov.vn"]
"""

CALENDAR = """\
[[event]]
id = "hop-giao-ban"
title = "Họp giao ban công tác bình đẳng giới"
kind = "activity"
date = "2026-06-10"
units = ["phong-a"]
lead_days = [1]

[[event]]
id = "bao-cao-quy"
title = "Hạn gửi báo cáo quý về bình đẳng giới"
kind = "deadline"
date = "2026-06-19"
units = ["phong-b"]
lead_days = [2]
"""


def write_deployment(directory: Path, send_time: str = "08:00", transport: str = "outbox",
                     smtp_port: int = 25, calendar: str = CALENDAR,
                     smtp_timeout: int = 5) -> Path:
    """A two-unit deployment: phong-a's meeting on Wed 10/6/2026 (reminded Tue 9/6),
    phong-b's deadline on Fri 19/6/2026 (reminded Wed 17/6). Returns config.toml."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "calendar.toml").write_text(calendar, encoding="utf-8")
    config = directory / "config.toml"
    config.write_text(CONFIG_TEMPLATE.format(send_time=send_time, transport=transport,
                                             smtp_port=smtp_port, smtp_timeout=smtp_timeout),
                      encoding="utf-8")
    return config


def outbox_messages(state_dir: Path) -> list[Path]:
    """Every message file the outbox transport has written (any Maildir subfolder)."""
    outbox = state_dir / "outbox"
    if not outbox.exists():
        return []
    return sorted(p for p in outbox.rglob("*") if p.is_file() and p.parent.name in
                  ("new", "cur"))

"""Under systemd: the daemon's stderr is the journal stream, so lines carry a priority
prefix and no timestamp of ours. The test plays systemd: it hands the daemon a stderr
file and names that file's device:inode in $JOURNAL_STREAM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from daemon_process import write_deployment


def test_daemon_logs_in_journal_form_when_stderr_is_the_journal(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    log_path = tmp_path / "journal.log"
    with tempfile.TemporaryDirectory(prefix="lnj-", dir="/tmp") as sock_dir, \
            open(log_path, "wb") as log_file:
        notify_path = os.path.join(sock_dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(60)
        stat = os.fstat(log_file.fileno())
        env = {**os.environ, "NOTIFY_SOCKET": notify_path,
               "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}",
               "LICHNHAC_NOW": "2026-06-01T09:00:00+07:00"}
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config),
                                 "run"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                                stderr=log_file)
        try:
            while b"READY=1" not in notify.recv(4096):
                pass
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            notify.close()
    lines = log_path.read_text(encoding="utf-8").splitlines()
    assert lines, "no log lines"
    assert all(re.match(r"<[0-7]>", line) for line in lines), lines
    assert not any(re.search(r"\d{2}:\d{2}:\d{2}", line[:30]) for line in lines), lines
    assert "<6>lichnhac starting: config files config.toml, calendar.toml" in lines
    assert "<6>stopped" in lines

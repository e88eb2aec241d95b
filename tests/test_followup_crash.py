"""SIGKILL while units confirm: every confirm POST the daemon answered 200 is in the
ledger after a restart (a 200 means committed, not just accepted)."""

from __future__ import annotations

import random
import signal
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from daemon_process import DaemonProcess
from followup_helpers import DUE, EVENT, write_followup_deployment

from scheduler.config import load_config
from scheduler.followup.links import confirm_claim
from scheduler.followup.signing import load_secrets, sign
from scheduler.store.documents import documents

pytestmark = pytest.mark.slow

UNITS = 300
TRIALS = 3


def deployment(directory: Path) -> Path:
    path = write_followup_deployment(directory)
    extra = "".join(f'\n[[unit]]\nid = "don-vi-{i:04d}"\nname = "Đơn vị số {i}"\n'
                    f'email = ["dv{i}@hoaan.example.gov.vn"]\n' for i in range(UNITS))
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def confirmed_units(state: Path) -> set[str]:
    db = sqlite3.connect(state / "ledger.sqlite3")
    try:
        return {str(r[0]) for r in db.execute("SELECT unit FROM confirmation")}
    finally:
        db.close()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_every_confirm_answered_200_survives_sigkill(tmp_path: Path, trial: int) -> None:
    config_path = deployment(tmp_path / "d")
    config = load_config(config_path)
    env = {"LICHNHAC_NOW": "2026-06-20T10:00:00+07:00"}
    rng = random.Random(trial)
    kill_after = rng.randint(40, 220)
    answered: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()
    with DaemonProcess(config_path, env=env) as daemon:
        daemon.wait_ready()
        secret = load_secrets(documents(config), config.state_dir).current
        units = [f"don-vi-{i:04d}" for i in range(UNITS)]
        rng.shuffle(units)

        def post(unit: str) -> None:
            if killed.is_set():
                return
            token = sign(secret, confirm_claim(config, unit, EVENT, DUE))
            url = f"{daemon.base_url}/xac-nhan/{token}"
            body = urllib.parse.urlencode({"token": token, "action": "confirm",
                                           "ref": f"Báo cáo của {unit}"}).encode()
            request = urllib.request.Request(url, data=body, method="POST", headers={
                "Origin": daemon.base_url,
                "Content-Type": "application/x-www-form-urlencoded"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    ok = response.status == 200 and b"\xc4\x90\xc3\xa3 ghi nh\xe1\xba\xadn" \
                        in response.read()
            except (urllib.error.URLError, ConnectionError, OSError):
                return
            if ok:
                with lock:
                    answered.append(unit)
                    if len(answered) == kill_after:
                        daemon.proc.send_signal(signal.SIGKILL)
                        killed.set()

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(post, units))
        daemon.proc.wait(timeout=20)
        assert daemon.proc.returncode == -signal.SIGKILL
    assert len(answered) >= kill_after
    with DaemonProcess(config_path, env=env) as daemon:
        daemon.wait_ready()
        assert daemon.stop() == 0
    recorded = confirmed_units(config.state_dir)
    missing = set(answered) - recorded
    assert not missing, f"{len(missing)} confirmations answered 200 but lost: {sorted(missing)}"

"""systemd/lichnhac.service: it verifies, it is hardened, and it runs what we ship.

`systemd-analyze verify` checks that every Exec*= binary exists. The unit names the
production path /opt/lichnhac/.venv/bin/lichnhac, absent on a build machine, so the
test verifies a copy whose paths point at this checkout's venv — every other line is
the shipped file's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "lichnhac.service"
PRODUCTION_BIN = "/opt/lichnhac/.venv/bin/lichnhac"


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    assert found, "systemd-analyze is missing: run `bash .ci/system-deps` (Debian: systemd)"
    return found


def settings() -> dict[str, list[str]]:
    """Every `Key=value` of the unit, values in file order."""
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def local_copy(tmp_path: Path) -> Path:
    venv_bin = Path(sys.executable).parent / "lichnhac"
    assert venv_bin.exists(), f"{venv_bin} missing: `pip install -e .` first"
    copy = tmp_path / "lichnhac.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(PRODUCTION_BIN, str(venv_bin)),
                    encoding="utf-8")
    return copy


def test_unit_verifies_with_the_binaries_present(tmp_path: Path) -> None:
    done = subprocess.run([systemd_analyze(), "verify", str(local_copy(tmp_path))],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "lichnhac.service" not in done.stderr, done.stderr


def test_security_exposure_is_ok(tmp_path: Path) -> None:
    done = subprocess.run([systemd_analyze(), "security", "--offline=yes", "--no-pager",
                           str(local_copy(tmp_path))],
                          capture_output=True, text=True, timeout=60, check=False)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= 2.0 and match.group(2) == "OK", match.group(0)


@pytest.mark.parametrize(("key", "value"), [
    ("Type", "notify"),
    ("DynamicUser", "yes"),
    ("StateDirectory", "lichnhac"),
    ("ConfigurationDirectory", "lichnhac"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("NoNewPrivileges", "yes"),
    ("CapabilityBoundingSet", ""),
    ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
    ("SystemCallFilter", "@system-service"),
    ("SystemCallFilter", "~@privileged @resources"),
    ("ExecStartPre", f"{PRODUCTION_BIN} --config /etc/lichnhac/config.toml check"),
    ("ExecStart", f"{PRODUCTION_BIN} --config /etc/lichnhac/config.toml run"),
    ("ExecReload", "/bin/kill -HUP $MAINPID"),
    ("Restart", "on-failure"),
    ("UMask", "0077"),
])
def test_hardening_setting_present(key: str, value: str) -> None:
    assert value in settings().get(key, []), f"{key}={value} missing from {UNIT.name}"


def test_watchdog_is_on_and_longer_than_our_ping() -> None:
    watchdog = settings()["WatchdogSec"]
    assert watchdog and watchdog[0].endswith("s") and int(watchdog[0][:-1]) >= 10



def test_stop_timeout_leaves_room_for_the_daemons_own_bounded_wait() -> None:
    from scheduler.daemon import SHUTDOWN_GRACE_SECONDS

    stop = settings()["TimeoutStopSec"][0]
    assert int(stop.rstrip("s")) > SHUTDOWN_GRACE_SECONDS


def test_file_descriptor_limit_is_set_and_above_the_connection_cap() -> None:
    from scheduler.connections import MAX_CONNECTIONS, RESERVED_FDS

    limit = int(settings()["LimitNOFILE"][0])
    assert limit >= MAX_CONNECTIONS + RESERVED_FDS

"""`lichnhac run` as systemd runs it: READY=1 when serving, health, metrics, clean stop."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

from daemon_process import DaemonProcess, write_deployment

# Monday 1 June 2026, before any reminder of the test calendar.
QUIET_DAY = "2026-06-01T09:00:00+07:00"


def test_ready_when_serving_then_stopping_and_exit_0_on_sigterm(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        ready = daemon.wait_ready()
        # Deployment times say their zone (the log line's own time is the server's).
        assert re.fullmatch(r"next reminder 2026-06-09 08:00 \+07:00 \(Asia/Ho_Chi_Minh\); "
                            r"last delivery (none yet|2026-06-01 09:00 \+07:00 "
                            r"\(Asia/Ho_Chi_Minh\))", daemon.messages[ready]["STATUS"])
        daemon.wait_log(r"[+-]\d{4} INFO ready: next reminder 2026-06-09 08:00 \+07:00 "
                        r"\(Asia/Ho_Chi_Minh\)")
        # READY means serving: the feed answers at once.
        assert daemon.get("/feeds/all.ics").status == 200
        daemon.signal(signal.SIGTERM)
        daemon.wait_message("STOPPING", after=ready, timeout=10)
        assert daemon.proc.wait(timeout=10) == 0
    assert "Traceback" not in daemon.stderr


def test_sigint_stops_like_sigterm(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        daemon.signal(signal.SIGINT)
        assert daemon.proc.wait(timeout=10) == 0
        daemon.wait_message("STOPPING", timeout=1)


def test_startup_logs_the_config_files_loaded(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        line = daemon.wait_log(r"config files (.*)")
        assert line.group(1).split(", ") == [str(config), str(tmp_path / "calendar.toml")] \
            or line.group(1).split(", ") == ["config.toml", "calendar.toml"]
        assert daemon.stop() == 0


def test_healthz_reports_next_reminder_last_delivery_and_counts(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        result = daemon.get("/healthz")
        assert result.status == 200
        assert result.headers["Content-Type"].startswith("application/json")
        health = json.loads(result.body)
        assert health["status"] == "ok"
        assert health["next_reminder"] == "2026-06-09T08:00:00+07:00"
        assert health["config_loaded_at"].startswith("2026-06-01T09:00")
        assert health["failed"] == 0 and health["missed"] == 0
        assert "last_delivery" in health
        assert daemon.stop() == 0


def test_metrics_in_prometheus_text_format(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        result = daemon.get("/metrics")
        assert result.status == 200
        assert result.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = result.body.decode()
        samples = dict(line.rsplit(" ", 1) for line in text.splitlines()
                       if line and not line.startswith("#"))
        # 2026-06-09 08:00 +07:00 = 01:00 UTC.
        assert float(samples["lichnhac_next_reminder_timestamp_seconds"]) == 1780966800.0
        assert samples['lichnhac_config_reloads_total{result="success"}'] == "0.0"
        assert samples['lichnhac_config_reloads_total{result="failure"}'] == "0.0"
        assert samples['lichnhac_reminders_total{outcome="sent"}'] == "0.0"
        # all.ics, one per unit (2), one per kind (4).
        assert float(samples["lichnhac_feeds"]) == 7.0
        assert float(samples["lichnhac_feed_bytes"]) > 0
        # The connection guard's counts (this scrape's own connection is open).
        assert float(samples["lichnhac_web_connections"]) >= 1
        assert samples['lichnhac_web_connections_closed_total{reason="over_limit"}'] == "0.0"
        assert samples['lichnhac_web_connections_closed_total{reason="stalled"}'] == "0.0"
        assert daemon.stop() == 0


def test_invalid_config_at_start_exits_1_with_file_line(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + "\n[web]\nlisten = 1\n",
                      encoding="utf-8")
    with DaemonProcess(config) as daemon:
        assert daemon.proc.wait(timeout=30) == 1
        daemon.wait_log(r"config\.toml:\d+: ", timeout=5)
        assert not any(m.get("READY") for m in daemon.messages)


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    config = write_deployment(tmp_path)
    config.write_text(config.read_text(encoding="utf-8").replace(
        'listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"'), encoding="utf-8")
    try:
        with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
            assert daemon.proc.wait(timeout=30) == 1
            daemon.wait_log(rf"cannot listen on 127\.0\.0\.1:{port}", timeout=5)
            assert "Traceback" not in daemon.stderr
    finally:
        busy.close()


def test_watchdog_pings_when_systemd_asks(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    # WATCHDOG_USEC=1 s: a ping every 0.5 s.
    env = {"LICHNHAC_NOW": QUIET_DAY, "WATCHDOG_USEC": "1000000"}
    with DaemonProcess(config, env=env) as daemon:
        ready = daemon.wait_ready()
        first = daemon.wait_message("WATCHDOG", after=ready, timeout=10)
        daemon.wait_message("WATCHDOG", after=first + 1, timeout=10)
        assert daemon.stop() == 0


def test_shipped_config_runs_as_make_run_does(tmp_path: Path) -> None:
    """`make run` is `lichnhac --config config.toml run`: the shipped deployment starts,
    serves its feeds and stops cleanly (here on a free port and a private state dir)."""
    import shutil

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "calendars", tmp_path / "calendars")
    text = (root / "config.toml").read_text(encoding="utf-8")
    assert 'listen = "127.0.0.1:8080"' in text
    config = tmp_path / "config.toml"
    config.write_text(text.replace('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:0"'),
                      encoding="utf-8")
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        feed = daemon.get("/feeds/units/hoi-lhpn.ics")
        assert feed.status == 200 and feed.body.startswith(b"BEGIN:VCALENDAR")
        assert daemon.get("/").status == 200
        assert daemon.stop() == 0
    assert (tmp_path / "var" / "ledger.sqlite3").exists()


def test_feeds_roll_over_at_midnight(tmp_path: Path) -> None:
    # The feed window is last year .. next year: at midnight on 31/12 it moves a year on.
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": "2026-12-31T23:59:30+07:00"}) as daemon:
        daemon.wait_ready()
        before = json.loads(daemon.get("/healthz").body)
        assert before["built_on"] == "2026-12-31"
        assert before["window"] == ["2025-01-01", "2027-12-31"]
        daemon.wait_log(r"feeds built for 2027-01-01", timeout=60)
        after = json.loads(daemon.get("/healthz").body)
        assert after["built_on"] == "2027-01-01"
        assert after["window"] == ["2026-01-01", "2028-12-31"]
        assert daemon.stop() == 0

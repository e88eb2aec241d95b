"""SIGHUP: an invalid config is refused and the old one kept; a valid one is swapped in."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from daemon_process import CALENDAR, DaemonProcess, write_deployment

QUIET_DAY = "2026-06-01T09:00:00+07:00"
FEEDS = ("/feeds/all.ics", "/feeds/units/phong-a.ics", "/feeds/units/phong-b.ics",
         "/feeds/kinds/activity.ics", "/feeds/kinds/deadline.ics")


def etags(daemon: DaemonProcess) -> dict[str, str]:
    found = {}
    for path in FEEDS:
        result = daemon.get(path)
        assert result.status == 200, (path, result.status)
        found[path] = result.headers["ETag"]
    return found


def reload(daemon: DaemonProcess) -> None:
    """SIGHUP and wait for the RELOADING=1 … READY=1 pair that ends it."""
    before = len(daemon.messages)
    daemon.signal(signal.SIGHUP)
    reloading = daemon.wait_message("RELOADING", after=before, timeout=30)
    assert int(daemon.messages[reloading]["MONOTONIC_USEC"]) > 0
    daemon.wait_message("READY", after=reloading, timeout=30)


def test_broken_config_is_refused_old_feeds_still_served(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        before = etags(daemon)
        old_body = daemon.get("/feeds/units/phong-a.ics").body
        text = config.read_text(encoding="utf-8")
        line = text.splitlines().index("grace_days = 3") + 1
        config.write_text(text.replace("grace_days = 3", "grace_days = 99"), encoding="utf-8")

        reload(daemon)
        daemon.wait_log(rf"reload failed: config\.toml:{line}: \[reminders\]: grace_days 99 "
                        r"must be 0\.\.60")
        assert etags(daemon) == before
        assert daemon.get("/feeds/units/phong-a.ics").body == old_body
        health = json.loads(daemon.get("/healthz").body)
        assert health["next_reminder"] == "2026-06-09T08:00:00+07:00"
        metrics = daemon.get("/metrics").body.decode()
        assert 'lichnhac_config_reloads_total{result="failure"} 1.0' in metrics
        assert daemon.stop() == 0


def test_broken_calendar_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        before = etags(daemon)
        (tmp_path / "calendar.toml").write_text(CALENDAR + '\n[[event]\nid = "x"\n',
                                                encoding="utf-8")
        reload(daemon)
        daemon.wait_log(r"reload failed: calendar\.toml:\d+: ")
        assert etags(daemon) == before
        assert daemon.stop() == 0


def test_valid_change_swaps_in_only_changed_feeds_get_new_etags(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        before = etags(daemon)
        # phong-a's meeting moves from 10/6 to Fri 5/6: reminded Thu 4/6 instead of Tue 9/6.
        (tmp_path / "calendar.toml").write_text(
            CALENDAR.replace('date = "2026-06-10"', 'date = "2026-06-05"'), encoding="utf-8")

        reload(daemon)
        daemon.wait_log(r"reloaded: config files")
        after = etags(daemon)
        changed = {path for path in FEEDS if after[path] != before[path]}
        assert changed == {"/feeds/all.ics", "/feeds/units/phong-a.ics",
                           "/feeds/kinds/activity.ics"}
        assert b"DTSTART;VALUE=DATE:20260605" in daemon.get("/feeds/units/phong-a.ics").body
        health = json.loads(daemon.get("/healthz").body)
        assert health["next_reminder"] == "2026-06-04T08:00:00+07:00"
        status = [m["STATUS"] for m in daemon.messages if "STATUS" in m]
        assert "next reminder 2026-06-04 08:00" in status[-1]
        metrics = daemon.get("/metrics").body.decode()
        assert 'lichnhac_config_reloads_total{result="success"} 1.0' in metrics
        assert daemon.stop() == 0


def test_reload_with_nothing_changed_keeps_every_etag(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        before = etags(daemon)
        reload(daemon)
        daemon.wait_log(r"reloaded: config files")
        assert etags(daemon) == before
        assert daemon.stop() == 0


def test_listen_change_needs_a_restart_and_says_so(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        config.write_text(config.read_text(encoding="utf-8").replace(
            'listen = "127.0.0.1:0"', 'listen = "127.0.0.1:8099"'), encoding="utf-8")
        reload(daemon)
        daemon.wait_log(r"reload: \[web\] listen 127\.0\.0\.1:8099 takes effect at the next "
                        r"restart")
        assert daemon.get("/feeds/all.ics").status == 200  # still on the old port
        assert daemon.stop() == 0

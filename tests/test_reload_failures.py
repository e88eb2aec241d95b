"""A reload that fails, however it fails, says so and keeps the old config (issue 14,
items 3 and 4): "reload failed" in the log, lichnhac_config_reloads_total{result="failure"}
counted, the old feeds served, and systemd hears READY=1 after RELOADING=1."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

from daemon_process import DaemonProcess, write_deployment

from tests.conftest import Result

QUIET_DAY = "2026-06-01T09:00:00+07:00"
EXTRA_UNITS = "".join(f'''
[[unit]]
id = "phong-{name}"
name = "Phòng {name.upper()}"
email = ["phong{name}@hoaan.example.gov.vn"]
''' for name in ("c", "d", "e"))


def _reload(daemon: DaemonProcess) -> None:
    """SIGHUP; RELOADING=1 must be followed by READY=1, whatever happens."""
    before = len(daemon.messages)
    daemon.signal(signal.SIGHUP)
    reloading = daemon.wait_message("RELOADING", after=before, timeout=30)
    daemon.wait_message("READY", after=reloading + 1, timeout=30)


def _failures(daemon: DaemonProcess) -> int:
    return sum(1 for line in daemon.lines if "reload failed: keeping the config" in line
               or "reload refused" in line)


def _broken_configs(good: str, directory: Path) -> dict[str, str]:
    (directory / "bad-templates").mkdir()
    # Not UTF-8: jinja2 raises UnicodeDecodeError while compiling, which no validation
    # anticipates: the reload's internal-error path.
    (directory / "bad-templates" / "reminder.txt.j2").write_bytes(b"\xff\xfe{{ x }}\n")
    return {
        "empty": "",
        "comment only": "# config.toml\n# (truncated)\n",
        "syntax error": good + "\n[mail\n",
        "wrong type": good.replace("grace_days = 3", 'grace_days = "3"'),
        "nul in a path": good.replace('dir = "state"', 'dir = "st\\u0000ate"'),
        "nested a thousand deep": good + "\nx = " + "[" * 1000 + "]" * 1000 + "\n",
        "internal error": good.replace('transport = "outbox"',
                                       'transport = "outbox"\ntemplates = "bad-templates"'),
    }


def test_every_failed_reload_is_logged_counted_and_followed_by_ready(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    good = config.read_text(encoding="utf-8")
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        feed = daemon.get("/feeds/units/phong-a.ics")
        broken = _broken_configs(good, tmp_path)
        for number, (what, text) in enumerate(broken.items(), start=1):
            config.write_text(text, encoding="utf-8")
            _reload(daemon)
            daemon.wait_for(lambda n=number: _failures(daemon) >= n, 30, f"failure of {what}")
            assert _failures(daemon) == number, what
            again = daemon.get("/feeds/units/phong-a.ics")
            assert (again.status, again.headers["ETag"]) == (200, feed.headers["ETag"]), what
        # A template saved in a legacy code page is named, not an "internal error".
        assert any(re.search(r"reload failed: \S+/reminder\.txt\.j2: template: not UTF-8",
                             line) for line in daemon.lines), daemon.stderr
        assert any("no units: a deployment needs at least one [[unit]]" in line
                   for line in daemon.lines)
        metrics = daemon.get("/metrics").body.decode()
        assert f'lichnhac_config_reloads_total{{result="failure"}} {len(broken)}.0' in metrics
        assert 'lichnhac_config_reloads_total{result="success"} 0.0' in metrics
        # And a good config still reloads afterwards.
        config.write_text(good, encoding="utf-8")
        _reload(daemon)
        daemon.wait_log(r"reloaded: config files")
        assert daemon.stop() == 0


def test_reload_removing_most_units_is_refused_until_accepted(
        tmp_path: Path, cli: Callable[..., Result]) -> None:
    config = write_deployment(tmp_path)
    full = config.read_text(encoding="utf-8") + EXTRA_UNITS
    config.write_text(full, encoding="utf-8")
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        assert daemon.get("/feeds/units/phong-e.ics").status == 200
        # A truncated file: phong-a survives, phong-b's event now points at nothing.
        cut = full[:full.index('[[unit]]\nid = "phong-b"')]
        config.write_text(cut, encoding="utf-8")
        (tmp_path / "calendar.toml").write_text(
            (tmp_path / "calendar.toml").read_text(encoding="utf-8")
            .replace('units = ["phong-b"]', 'units = ["phong-a"]'), encoding="utf-8")
        _reload(daemon)
        line = daemon.wait_log(r"reload refused: it would remove (\d+) of (\d+) units "
                               r"\(([^)]*)\); if that is intended, run `lichnhac --config "
                               r".*check --accept-removals` and reload again")
        assert line.groups() == ("4", "5", "phong-b, phong-c, phong-d, phong-e")
        assert daemon.get("/feeds/units/phong-e.ics").status == 200

        accepted = cli("--config", str(config), "check", "--accept-removals", cwd=tmp_path,
                       env={"LANGUAGE": "en"})
        assert accepted.status == 0, accepted.stderr
        assert "accepted: the next reload may apply these 1 units" in accepted.stdout
        _reload(daemon)
        daemon.wait_log(r"reloaded: config files")
        assert daemon.get("/feeds/units/phong-e.ics").status == 404
        assert not (tmp_path / "state" / "accept-removals").exists()  # used once
        assert daemon.stop() == 0

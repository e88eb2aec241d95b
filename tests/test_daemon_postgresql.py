"""The real daemon on a PostgreSQL store: it refuses a schema that was never upgraded, catches
up before READY, and a second node (another state dir, same database) finds the reminder
already sent instead of sending it again."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_process import DaemonProcess, outbox_messages, write_deployment

from scheduler.cli import main

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]   # two daemon starts: ~30 s


def _node(directory: Path, url: str) -> Path:
    config = write_deployment(directory)
    config.write_text(config.read_text(encoding="utf-8").replace(
        '[state]\ndir = "state"\n', f'[state]\ndir = "state"\ndatabase = "{url}"\n'),
        encoding="utf-8")
    return config


def test_two_nodes_on_one_database_send_a_reminder_once(tmp_path: Path, pg_url: str,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    first = _node(tmp_path / "a", pg_url)
    env = {"LICHNHAC_NOW": "2026-06-09T10:00:00+07:00"}
    with DaemonProcess(first, env=env) as daemon:       # never upgraded: refused, clearly
        assert daemon.proc.wait(60) != 0
        assert "lichnhac db upgrade" in daemon.stderr
        assert "Traceback" not in daemon.stderr, daemon.stderr
    assert main(["--config", str(first), "db", "upgrade"]) == 0
    capsys.readouterr()
    with DaemonProcess(first, env=env) as daemon:
        daemon.wait_ready()
        assert daemon.stop() == 0
    assert len(outbox_messages(tmp_path / "a" / "state")) == 1
    second = _node(tmp_path / "b", pg_url)
    with DaemonProcess(second, env={"LICHNHAC_NOW": "2026-06-09T10:05:00+07:00"}) as daemon:
        daemon.wait_ready()
        assert daemon.stop() == 0
    assert outbox_messages(tmp_path / "b" / "state") == []

"""`lichnhac db upgrade` and `lichnhac db copy`: a SQLite deployment's simulated year with
confirmations moves to PostgreSQL and reads back the same; schemas older than the program
are refused until upgraded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from scheduler.cli import main
from scheduler.config import load_config
from scheduler.store import open_store
from tests.followup_helpers import EVENT, write_followup_deployment
from tests.test_store_upgrade import V1_SCHEMA

pytestmark = pytest.mark.postgresql


def _out(capsys: pytest.CaptureFixture[str], *args: str, status: int = 0) -> str:
    assert main(list(args)) == status
    captured = capsys.readouterr()
    return captured.out if status == 0 else captured.err


def _pointed_at(config_path: Path, url: str) -> Path:
    """The same deployment (same state dir) with its store on PostgreSQL."""
    text = config_path.read_text(encoding="utf-8").replace(
        '[state]\ndir = "state"\n', f'[state]\ndir = "state"\ndatabase = "{url}"\n')
    path = config_path.with_name("config-pg.toml")
    path.write_text(text, encoding="utf-8")
    return path


def test_db_copy_of_a_simulated_year_reads_back_the_same_on_postgresql(
        tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config_path = write_followup_deployment(tmp_path / "d")
    sqlite_args = ("--config", str(config_path))
    monkeypatch.setenv("LICHNHAC_NOW", "2026-06-23T09:00:00+07:00")
    _out(capsys, *sqlite_args, "confirm", "phong-b", EVENT, "2026-06-19", "--ref", "Số 9/BC")
    _out(capsys, *sqlite_args, "confirm", "phong-c", EVENT, "2026-06-19")
    _out(capsys, *sqlite_args, "confirm", "phong-c", EVENT, "2026-06-19", "--undo")
    _out(capsys, *sqlite_args, "simulate", "--live", "--from", "2026-01-01", "--to",
         "2026-12-31")
    status = _out(capsys, *sqlite_args, "status", "--year", "2026", "--format", "json")
    plan = _out(capsys, *sqlite_args, "plan", "--from", "2026-01-01", "--to", "2026-12-31",
                "--format", "json")
    assert [r["ref"] for r in json.loads(status)] == [None, "Số 9/BC", None]
    with open_store(load_config(config_path)) as ledger:
        before = (dict(ledger.counts()), ledger.errors("sent"), ledger.errors("missed"),
                  ledger.planned_through(), ledger.last_delivery(), ledger.confirmation_count(),
                  ledger.read_document("probe"))
        ledger.update_document("probe", lambda old: "Đã gửi".encode())
        before = (*before[:-1], ledger.read_document("probe"))
    assert before[0]["sent"] > 0

    url_file = tmp_path / "db-url"
    url_file.write_text(pg_url + "\n", encoding="utf-8")
    url_file.chmod(0o600)
    copied = _out(capsys, *sqlite_args, "db", "copy", "--to-file", str(url_file))
    assert f"{sum(before[0].values())} " in copied and "3 " in copied   # rows, log entries

    pg_args = ("--config", str(_pointed_at(config_path, pg_url)))
    assert _out(capsys, *pg_args, "status", "--year", "2026", "--format", "json") == status
    assert _out(capsys, *pg_args, "plan", "--from", "2026-01-01", "--to", "2026-12-31",
                "--format", "json") == plan
    with open_store(load_config(Path(pg_args[1]))) as ledger:
        after = (dict(ledger.counts()), ledger.errors("sent"), ledger.errors("missed"),
                 ledger.planned_through(), ledger.last_delivery(), ledger.confirmation_count(),
                 ledger.read_document("probe"))
        assert ledger.confirmations_version() == 3
    assert after == before

    # A second copy would mix two histories: refused, unless --force replaces the first.
    refused = _out(capsys, *sqlite_args, "db", "copy", "--to", pg_url, status=1)
    assert "--force" in refused
    _out(capsys, *sqlite_args, "db", "copy", "--to", pg_url, "--force")
    # Confirming through the PostgreSQL config shows in its register.
    _out(capsys, *pg_args, "confirm", "phong-a", EVENT, "2026-06-19")
    rows = json.loads(_out(capsys, *pg_args, "status", "--year", "2026", "--format", "json"))
    assert rows[0]["by"] == "operator"


def test_an_unupgraded_postgresql_is_refused_until_db_upgrade(
        tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = _pointed_at(write_followup_deployment(tmp_path / "d"), pg_url)
    args = ("--config", str(config_path))
    refused = _out(capsys, *args, "status", "--format", "json", status=1)
    assert "lichnhac db upgrade" in refused and "0" in refused
    upgraded = _out(capsys, *args, "db", "upgrade")
    assert "2" in upgraded and "127.0.0.1" in upgraded
    assert "2" in _out(capsys, *args, "db", "upgrade")      # nothing left to do
    assert json.loads(_out(capsys, *args, "status", "--format", "json"))[0]["unit"] == "phong-a"


def test_db_upgrade_upgrades_an_old_sqlite_ledger_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = write_followup_deployment(tmp_path / "d")
    (tmp_path / "d" / "state").mkdir()
    db = sqlite3.connect(tmp_path / "d" / "state" / "ledger.sqlite3")
    db.executescript(V1_SCHEMA)
    db.close()
    said = _out(capsys, "--config", str(config_path), "db", "upgrade").splitlines()
    assert len(said) == 3 and said[0].startswith(("schema version 1", "lược đồ phiên bản 1"))

"""Schema versions: a SQLite ledger made by the program before versions existed upgrades in
place at open, every row, confirmation, mark and document kept; a newer schema is refused."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.store import Confirmation, Outcome, SchemaMismatch
from scheduler.store.migrations import SCHEMA_VERSION
from scheduler.store.sqlite import SqliteStore, schema_version

HCM = ZoneInfo("Asia/Ho_Chi_Minh")

# The schema of ledgers written before schema versions (sqlite.py's SCHEMA, verbatim).
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS reminder (
    key        TEXT PRIMARY KEY,          -- <unit>/<occurrence key>/<lead>
    digest_key TEXT NOT NULL,             -- <send day>/<unit>
    unit       TEXT NOT NULL,
    send_day   TEXT NOT NULL,
    send_ts    REAL NOT NULL,
    event_end  TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'planned'
               CHECK (state IN ('planned', 'sending', 'sent', 'failed', 'missed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_ts    REAL NOT NULL,             -- earliest next attempt
    token      TEXT,                      -- Message-ID core, fixed at the first claim
    error      TEXT,
    done_ts    REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reminder_due ON reminder (state, next_ts, digest_key, token);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS confirmation (
    unit       TEXT NOT NULL,
    event      TEXT NOT NULL,
    due        TEXT NOT NULL,             -- ISO date
    at_ts      REAL NOT NULL,
    at_offset  INTEGER NOT NULL,          -- seconds east of UTC, to show the local time
    by         TEXT NOT NULL CHECK (by IN ('unit', 'coordinator', 'operator')),
    ref        TEXT,
    PRIMARY KEY (due, unit, event)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS confirmation_log (   -- every confirm and undo, for audits
    at_ts REAL NOT NULL, action TEXT NOT NULL, unit TEXT NOT NULL, event TEXT NOT NULL,
    due TEXT NOT NULL, by TEXT NOT NULL, ref TEXT
);
CREATE TABLE IF NOT EXISTS document (name TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
"""
AT = datetime(2026, 3, 1, 8, 0, tzinfo=HCM)


def _old_ledger(path: Path) -> None:
    """What the old program left: rows in every state (one crashed `sending`), marks,
    confirmations with their log, a document."""
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    ts = AT.timestamp()
    rows = [("u1/ev/2026/7", "planned", None, 0, None), ("u1/ev/2026/0", "sent", "t1", 1, None),
            ("u2/ev/2026/7", "failed", "t2", 1, "550 no"), ("u3/ev/2026/7", "missed", None, 0,
                                                            "event over"),
            ("u4/ev/2026/7", "sending", "t4", 0, None)]
    for key, state, token, attempts, error in rows:
        unit = key.split("/")[0]
        db.execute("INSERT INTO reminder VALUES (?, ?, ?, '2026-03-01', ?, '2026-03-08', ?, ?, "
                   "?, ?, ?, ?)", (key, f"2026-03-01/{unit}", unit, ts, state, attempts, ts,
                                   token, error, ts if state == "sent" else None))
    db.execute("INSERT INTO meta VALUES ('planned_through', '2026-03-01')")
    db.execute("INSERT INTO meta VALUES ('last_delivery', ?)", (AT.isoformat(),))
    db.execute("INSERT INTO confirmation VALUES ('u1', 'ev', '2026-03-08', ?, 25200, 'unit', "
               "'CV 12')", (ts,))
    db.execute("INSERT INTO confirmation_log VALUES (?, 'confirm', 'u1', 'ev', '2026-03-08', "
               "'unit', 'CV 12')", (ts,))
    db.execute("INSERT INTO document VALUES ('feed-revisions', x'7b7d')")
    db.commit()
    db.close()


def test_an_old_ledger_upgrades_in_place_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    _old_ledger(path)
    with SqliteStore(path, owner="node") as store:
        assert [v for v, _ in store.upgraded] == list(range(1, SCHEMA_VERSION + 1))
        assert schema_version(store.db) == SCHEMA_VERSION
        assert store.counts() == {"planned": 1, "sending": 1, "sent": 1, "failed": 1,
                                  "missed": 1}
        assert store.errors("failed") == [("u2/ev/2026/7", "550 no")]
        assert store.errors("missed") == [("u3/ev/2026/7", "event over")]
        assert store.planned_through() == date(2026, 3, 1) and store.last_delivery() == AT
        (confirmation,) = store.confirmations(date(2026, 3, 1), date(2026, 3, 31))
        assert confirmation == Confirmation("u1", "ev", date(2026, 3, 8), AT, "unit", "CV 12")
        assert confirmation.at.utcoffset() == timedelta(hours=7)
        assert store.confirmations_version() == 1
        assert store.read_document("feed-revisions") == b"{}"
        # The old program's crashed claim has no owner: the daemon's start takes it back,
        # and it goes out again under its old token.
        assert store.recover_interrupted() == 1
        claims = {c.reminder_keys: c for c in store.claim_due(AT, 10)}
        assert claims[("u4/ev/2026/7",)].token == "t4"
        store.record([Outcome(c, "sent", AT) for c in claims.values()])
        assert store.counts()["sent"] == 3
    with SqliteStore(path) as again:    # already current: nothing more to do
        assert again.upgraded == []


def test_a_ledger_from_a_newer_program_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (?, 0, 'future')", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    newer = rf"\b{SCHEMA_VERSION + 1}\b.*\b{SCHEMA_VERSION}\b"
    with pytest.raises(SchemaMismatch, match=newer):
        SqliteStore(path)


def test_a_file_that_is_not_a_ledger_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(SchemaMismatch, match=r"ledger\.sqlite3"):
        SqliteStore(path)

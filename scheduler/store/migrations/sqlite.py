"""SQLite schema steps. Step 1 is the schema of ledgers made before versions existed,
verbatim (`IF NOT EXISTS`: it adopts such a ledger's tables as they are)."""

from __future__ import annotations

from scheduler.store.migrations import SUMMARIES, Step

STEPS: tuple[Step, ...] = (
    Step(1, SUMMARIES[1], (
        """CREATE TABLE IF NOT EXISTS reminder (
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
        ) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS reminder_due ON reminder (state, next_ts, digest_key, "
        "token)",
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS confirmation (
            unit       TEXT NOT NULL,
            event      TEXT NOT NULL,
            due        TEXT NOT NULL,             -- ISO date
            at_ts      REAL NOT NULL,
            at_offset  INTEGER NOT NULL,          -- seconds east of UTC, to show the local time
            by         TEXT NOT NULL CHECK (by IN ('unit', 'coordinator', 'operator')),
            ref        TEXT,
            PRIMARY KEY (due, unit, event)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS confirmation_log (   -- every confirm and undo
            at_ts REAL NOT NULL, action TEXT NOT NULL, unit TEXT NOT NULL,
            event TEXT NOT NULL, due TEXT NOT NULL, by TEXT NOT NULL, ref TEXT
        )""",
        "CREATE TABLE IF NOT EXISTS document (name TEXT PRIMARY KEY, body BLOB NOT NULL) "
        "WITHOUT ROWID",
    )),
    Step(2, SUMMARIES[2], (
        "ALTER TABLE reminder ADD COLUMN owner TEXT",       # node id of the claim
        "ALTER TABLE reminder ADD COLUMN lease_ts REAL",    # claim held until (epoch s)
        "CREATE INDEX reminder_lease ON reminder (state, lease_ts)",
    )),
)

"""`lichnhac db copy`: a SQLite ledger's whole history into a PostgreSQL database.

Everything moves, in one PostgreSQL transaction: reminder rows with their states, tokens,
attempts, errors, owners and leases; confirmations and their audit log; the marks; the
named documents. The confirmations version continues from the SQLite one. The target must
hold no lichnhac rows (a fresh or freshly upgraded database) unless `force`, which empties
it first in the same transaction. Times are epoch seconds on both sides: copied as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scheduler.i18n import _
from scheduler.store import SchemaMismatch
from scheduler.store.postgresql import Cursor, PostgresqlStore
from scheduler.store.sqlite import SqliteStore

TABLES = ("reminder", "confirmation", "confirmation_log", "meta", "document")
REMINDER_COLUMNS = ("key", "digest_key", "unit", "send_day", "send_ts", "event_end", "state",
                    "attempts", "next_ts", "token", "error", "done_ts", "owner", "lease_ts")


@dataclass(frozen=True)
class Copied:
    """Rows copied, per kind."""

    reminders: int
    confirmations: int
    log: int
    marks: int
    documents: int


class TargetNotEmpty(SchemaMismatch):
    """The target database already holds lichnhac rows (and `force` was not given)."""


def _day(text: str) -> date:
    return date.fromisoformat(text)


def copy_store(source: SqliteStore, target: PostgresqlStore, force: bool = False) -> Copied:
    """Copy everything in `source` into `target` (schema current) in one transaction."""
    db = source.db

    def work(cursor: Cursor) -> Copied:
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            row = cursor.fetchone()
            counts[table] = int(row[0]) if row else 0
        if any(counts.values()):
            if not force:
                raise TargetNotEmpty(_(
                    "the database {where} already holds lichnhac data ({reminders} reminders, "
                    "{confirmations} confirmations): copy into an empty database, or add "
                    "--force to replace what it holds").format(
                        where=target.where, reminders=counts["reminder"],
                        confirmations=counts["confirmation"]))
            cursor.execute(f"TRUNCATE {', '.join(TABLES)}")
        reminders = 0
        with cursor.copy(f"COPY reminder ({', '.join(REMINDER_COLUMNS)}) FROM STDIN") as copy:
            for row in db.execute(f"SELECT {', '.join(REMINDER_COLUMNS)} FROM reminder"):
                values = list(row)
                values[3], values[5] = _day(values[3]), _day(values[5])
                copy.write_row(values)
                reminders += 1
        confirmations = 0
        with cursor.copy("COPY confirmation (unit, event, due, at_ts, at_offset, by, ref) "
                         "FROM STDIN") as copy:
            for unit, event, due, at_ts, offset, by, ref in db.execute(
                    "SELECT unit, event, due, at_ts, at_offset, by, ref FROM confirmation"):
                copy.write_row((unit, event, _day(due), at_ts, offset, by, ref))
                confirmations += 1
        log = 0
        with cursor.copy("COPY confirmation_log (id, at_ts, action, unit, event, due, by, ref) "
                         "FROM STDIN") as copy:
            for rowid, at_ts, action, unit, event, due, by, ref in db.execute(
                    "SELECT rowid, at_ts, action, unit, event, due, by, ref "
                    "FROM confirmation_log ORDER BY rowid"):
                copy.write_row((rowid, at_ts, action, unit, event, _day(due), by, ref))
                log += 1
        cursor.execute("SELECT setval(pg_get_serial_sequence('confirmation_log', 'id'), "
                       "GREATEST((SELECT MAX(id) FROM confirmation_log), 1))")
        version = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM confirmation_log").fetchone()
        cursor.execute("INSERT INTO counter VALUES ('confirmations', %s) ON CONFLICT (name) "
                       "DO UPDATE SET value = EXCLUDED.value", (int(version[0]),))
        marks = db.execute("SELECT name, value FROM meta").fetchall()
        cursor.executemany("INSERT INTO meta (name, value) VALUES (%s, %s)", marks)
        documents = db.execute("SELECT name, body FROM document").fetchall()
        cursor.executemany("INSERT INTO document (name, body) VALUES (%s, %s)",
                           [(name, bytes(body)) for name, body in documents])
        return Copied(reminders, confirmations, log, len(marks), len(documents))

    # One read snapshot of the source for the whole copy.
    db.execute("BEGIN")
    try:
        return target._transaction(work)
    finally:
        db.execute("ROLLBACK")

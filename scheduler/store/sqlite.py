"""The SQLite ledger: one file under the state dir, WAL journal, `synchronous=FULL`.

Every state change is committed (and fsynced) before the step that depends on it: a claim
before the message is handed to the transport, a result after. Claims and results are
batched per transaction, so a burst of thousands of digests costs a few fsyncs per batch,
not per message. Times are stored as UTC epoch seconds, days as ISO dates.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType

from scheduler.store import (
    STATES,
    Claim,
    Confirmation,
    ConfirmedBy,
    Outcome,
    PlannedRow,
    State,
    Store,
    message_token,
)

SCHEMA = """
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
log = logging.getLogger(__name__)
# Rows per IN (...) query: below SQLite's default variable limit.
_CHUNK = 500


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for index in range(0, len(items), _CHUNK):
        yield items[index:index + _CHUNK]


class SqliteStore:
    """`Store` on one SQLite file; opening it recovers rows a crash left `sending`."""

    def __init__(self, path: Path, recover: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        _private_file(path)
        # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)
        # Documents go through a connection of their own, so that a feed build on a worker
        # thread never interleaves with a ledger transaction of the event loop's thread.
        self._docs: sqlite3.Connection | None = None
        self._docs_lock = threading.Lock()
        self.recovered = self.recover_interrupted() if recover else 0

    # -- context management --------------------------------------------------------------

    def close(self) -> None:
        with self._docs_lock:
            if self._docs is not None:
                self._docs.close()
                self._docs = None
        self.db.close()

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    # -- planning ------------------------------------------------------------------------

    def add(self, rows: Iterable[PlannedRow]) -> int:
        before = self.db.total_changes
        self._begin()
        try:
            self.db.executemany(
                "INSERT OR IGNORE INTO reminder (key, digest_key, unit, send_day, send_ts, "
                "event_end, next_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((r.key, r.digest_key, r.unit, r.send_at.date().isoformat(), _ts(r.send_at),
                  r.event_end.isoformat(), _ts(r.send_at)) for r in rows))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self.db.total_changes - before

    def _meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, name: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) "
                        "DO UPDATE SET value = excluded.value", (name, value))

    def planned_through(self) -> date | None:
        value = self._meta("planned_through")
        return None if value is None else date.fromisoformat(value)

    def set_planned_through(self, day: date) -> None:
        self._set_meta("planned_through", day.isoformat())

    def last_delivery(self) -> datetime | None:
        value = self._meta("last_delivery")
        return None if value is None else datetime.fromisoformat(value)

    def set_last_delivery(self, at: datetime) -> None:
        self._set_meta("last_delivery", at.isoformat())

    # -- the state machine ---------------------------------------------------------------

    def recover_interrupted(self) -> int:
        cursor = self.db.execute("UPDATE reminder SET state = 'planned' "
                                 "WHERE state = 'sending'")
        return cursor.rowcount

    def mark_missed(self, send_day_before: date, today: date) -> list[str]:
        self._begin()
        try:
            rows = self.db.execute(
                "UPDATE reminder SET state = 'missed', error = CASE WHEN event_end < ?2 "
                "THEN 'event over' ELSE 'beyond grace window' END "
                "WHERE state = 'planned' AND (send_day < ?1 OR event_end < ?2) "
                "RETURNING digest_key", (send_day_before.isoformat(), today.isoformat(),
                                         )).fetchall()
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return sorted({str(r[0]) for r in rows})

    def claim_due(self, now: datetime, limit: int, done: Sequence[Outcome] = ()) -> list[Claim]:
        self._begin()
        try:
            self._record(done)
            claims = self._select_due(_ts(now), limit) if limit > 0 else []
            for claim in claims:
                for chunk in _chunks(claim.reminder_keys):
                    marks = ",".join("?" * len(chunk))
                    self.db.execute(f"UPDATE reminder SET state = 'sending', token = ? "
                                    f"WHERE key IN ({marks})", (claim.token, *chunk))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return claims

    def _select_due(self, now_ts: float, limit: int) -> list[Claim]:
        """Up to `limit` whole groups (digest key, token) of due planned rows."""
        groups: dict[tuple[str, str | None], list[tuple[str, str, int]]] = {}
        cursor = self.db.execute(
            "SELECT digest_key, token, key, send_day, attempts FROM reminder "
            "WHERE state = 'planned' AND next_ts <= ? ORDER BY next_ts, digest_key, token",
            (now_ts,))
        for digest_key, token, key, send_day, attempts in cursor:
            group = (digest_key, token)
            if group not in groups:
                if len(groups) == limit:
                    break
                groups[group] = []
            groups[group].append((key, send_day, attempts))
        cursor.close()
        claims = []
        for (digest_key, token), rows in groups.items():
            keys = tuple(sorted(r[0] for r in rows))
            claims.append(Claim(digest_key=digest_key,
                                token=token or message_token(digest_key, keys),
                                reminder_keys=keys, send_day=date.fromisoformat(rows[0][1]),
                                attempts=max(r[2] for r in rows)))
        return claims

    def record(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        self._begin()
        try:
            self._record(outcomes)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _record(self, outcomes: Sequence[Outcome]) -> None:
        """`record` inside the caller's transaction."""
        for outcome in outcomes:
            at = _ts(outcome.at)
            for chunk in _chunks(outcome.claim.reminder_keys):
                marks = ",".join("?" * len(chunk))
                if outcome.result == "retry":
                    retry = _ts(outcome.retry_at or outcome.at)
                    self.db.execute(
                        f"UPDATE reminder SET state = 'planned', attempts = attempts + 1, "
                        f"next_ts = ?, error = ? WHERE key IN ({marks})",
                        (retry, outcome.error, *chunk))
                else:
                    self.db.execute(
                        f"UPDATE reminder SET state = ?, attempts = attempts + 1, "
                        f"done_ts = ?, error = ? WHERE key IN ({marks})",
                        (outcome.result, at, outcome.error or None, *chunk))

    def forget(self, reminder_keys: Iterable[str]) -> None:
        keys = list(reminder_keys)
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM reminder WHERE state IN ('planned', 'sending') "
                            f"AND key IN ({marks})", tuple(chunk))

    # -- questions -----------------------------------------------------------------------

    def next_attempt_after(self, after: datetime) -> datetime | None:
        row = self.db.execute("SELECT MIN(next_ts) FROM reminder WHERE state = 'planned' "
                              "AND next_ts > ?", (_ts(after),)).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.fromtimestamp(row[0], UTC).astimezone(after.tzinfo)

    def states(self, reminder_keys: Iterable[str]) -> Mapping[str, State]:
        found: dict[str, State] = {}
        keys = list(reminder_keys)
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, state in self.db.execute(
                    f"SELECT key, state FROM reminder WHERE key IN ({marks})", tuple(chunk)):
                found[str(key)] = state
        return found

    def counts(self) -> Mapping[State, int]:
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        for state, number in self.db.execute(
                "SELECT state, COUNT(*) FROM reminder GROUP BY state"):
            counts[state] = int(number)
        return counts

    def errors(self, state: State) -> list[tuple[str, str]]:
        """(reminder key, error) of every row in `state`, for reports."""
        return [(str(k), str(e or "")) for k, e in self.db.execute(
            "SELECT key, error FROM reminder WHERE state = ? ORDER BY key", (state,))]

    # -- follow-up confirmations ---------------------------------------------------------

    def confirm(self, confirmation: Confirmation) -> bool:
        c = confirmation
        offset = c.at.utcoffset()
        ref = c.ref or None
        self._begin()
        try:
            row = self.db.execute(
                "INSERT INTO confirmation (unit, event, due, at_ts, at_offset, by, ref) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (due, unit, event) DO UPDATE SET "
                "ref = COALESCE(excluded.ref, confirmation.ref) RETURNING at_ts",
                (c.unit, c.event, c.due.isoformat(), _ts(c.at),
                 int(offset.total_seconds()) if offset else 0, c.by, ref)).fetchone()
            new = row is not None and row[0] == _ts(c.at)
            self.db.execute("INSERT INTO confirmation_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (_ts(c.at), "confirm", c.unit, c.event, c.due.isoformat(), c.by,
                             ref))
            if c.occurrence_key:
                prefix = f"{c.unit}/{c.occurrence_key}/"
                self.db.execute("DELETE FROM reminder WHERE state = 'planned' AND "
                                "substr(key, 1, ?) = ?", (len(prefix), prefix))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return new

    def unconfirm(self, unit: str, event: str, due: date, at: datetime,
                  by: ConfirmedBy) -> bool:
        self._begin()
        try:
            cursor = self.db.execute("DELETE FROM confirmation WHERE due = ? AND unit = ? AND "
                                     "event = ?", (due.isoformat(), unit, event))
            removed = cursor.rowcount > 0
            if removed:
                self.db.execute("INSERT INTO confirmation_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (_ts(at), "undo", unit, event, due.isoformat(), by, None))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return removed

    def confirmations(self, due_from: date, due_to: date) -> list[Confirmation]:
        found = []
        zones: dict[int, timezone] = {}
        days: dict[str, date] = {}
        for unit, event, due, at_ts, offset, by, ref in self.db.execute(
                "SELECT unit, event, due, at_ts, at_offset, by, ref FROM confirmation "
                "WHERE due BETWEEN ? AND ? ORDER BY due, unit, event",
                (due_from.isoformat(), due_to.isoformat())):
            zone = zones.get(offset)
            if zone is None:
                zone = zones[offset] = timezone(timedelta(seconds=offset))
            day = days.get(due)
            if day is None:
                day = days[due] = date.fromisoformat(due)
            found.append(Confirmation(unit, event, day, datetime.fromtimestamp(at_ts, zone),
                                      by, ref))
        return found

    def confirmations_version(self) -> int:
        row = self.db.execute("SELECT MAX(rowid) FROM confirmation_log").fetchone()
        return int(row[0] or 0)

    def confirmation_count(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM confirmation").fetchone()
        return int(row[0])

    # -- named documents -----------------------------------------------------------------

    def _documents(self) -> sqlite3.Connection:
        """The documents' own connection (call with `_docs_lock` held)."""
        if self._docs is None:
            self._docs = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False)
            self._docs.execute("PRAGMA synchronous=FULL")
            self._docs.execute("PRAGMA busy_timeout=30000")
        return self._docs

    def read_document(self, name: str) -> bytes | None:
        with self._docs_lock:
            row = self._documents().execute("SELECT body FROM document WHERE name = ?",
                                            (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def update_document(self, name: str,
                        change: Callable[[bytes | None], bytes | None]) -> bytes | None:
        with self._docs_lock:
            db = self._documents()
            db.execute("BEGIN IMMEDIATE")   # every other writer waits until COMMIT
            try:
                row = db.execute("SELECT body FROM document WHERE name = ?",
                                 (name,)).fetchone()
                current = None if row is None else bytes(row[0])
                new = change(current)
                if new is not None and new != current:
                    db.execute("INSERT INTO document (name, body) VALUES (?, ?) "
                               "ON CONFLICT (name) DO UPDATE SET body = excluded.body",
                               (name, new))
                    current = new
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return current


def _private_file(path: Path) -> None:
    """Create the ledger file mode 0600, or take group and other access away from an
    existing one: it holds the link-signing secret and the private feed tokens. SQLite
    creates its -wal and -shm files with the database file's mode."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return      # sqlite3.connect reports the problem with its own words
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, mode & 0o700)
            log.warning("%s was readable by others (mode %o): now %o", path, mode,
                        mode & 0o700)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        try:
            if stat.S_IMODE(side.stat().st_mode) & 0o077:
                os.chmod(side, stat.S_IMODE(side.stat().st_mode) & 0o700)
        except FileNotFoundError:
            pass

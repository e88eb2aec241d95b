"""The SQLite ledger: one file under the state dir, WAL journal, `synchronous=FULL`.

Every state change is committed (and fsynced) before the step that depends on it: a claim
before the message is handed to the transport, a result after. Claims and results are
batched per transaction, so a burst of thousands of digests costs a few fsyncs per batch,
not per message. Times are stored as UTC epoch seconds, days as ISO dates.

The schema is versioned (`scheduler.store.migrations`): opening an older ledger upgrades it
in place, in one transaction, with a log line; a newer one is refused.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from scheduler.i18n import _
from scheduler.store import (
    DEFAULT_LEASE,
    STATES,
    Claim,
    ClosingStore,
    Confirmation,
    ConfirmedBy,
    Outcome,
    PlannedRow,
    SchemaMismatch,
    State,
    default_owner,
    message_token,
)
from scheduler.store.migrations import SCHEMA_VERSION, pending, refuse_newer
from scheduler.store.migrations.sqlite import STEPS

log = logging.getLogger(__name__)

# Rows per IN (...) query: below SQLite's default variable limit.
_CHUNK = 500


P = ParamSpec("P")
R = TypeVar("R")


def _serialized(method: Callable[Concatenate[SqliteStore, P], R]
                ) -> Callable[Concatenate[SqliteStore, P], R]:
    """One thread at a time on the ledger's connection: a transaction spans several
    statements, and the delivery loop runs its claims on a worker thread (so that their
    fsync does not stall the event loop) while the loop's thread may ask for counts."""
    @functools.wraps(method)
    def serialized(self: SqliteStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)
    return serialized


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for index in range(0, len(items), _CHUNK):
        yield items[index:index + _CHUNK]


def schema_version(db: sqlite3.Connection) -> int:
    """The ledger's schema version (0: empty, or made before versions existed)."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                  "name = 'schema_version'").fetchone() is None:
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def upgrade(db: sqlite3.Connection, path: Path) -> list[tuple[int, str]]:
    """Apply the pending steps in one transaction; returns (version, summary) applied."""
    refuse_newer(schema_version(db))   # before taking the write lock
    db.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(db)     # another process may have upgraded meanwhile
        steps = pending(current, STEPS)
        if steps:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
                       "KEY, applied_ts REAL NOT NULL, summary TEXT NOT NULL)")
        for step in steps:
            for statement in step.statements:
                db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?, CAST(strftime('%s', 'now') "
                       "AS REAL), ?)", (step.version, step.summary))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    if steps and current:
        log.warning("ledger %s upgraded from schema version %d to %d", path, current,
                    SCHEMA_VERSION)
    return [(step.version, step.summary) for step in steps]


class SqliteStore(ClosingStore):
    """`Store` on one SQLite file (created, or upgraded to the current schema, at open).

    `owner` is this node's id (default `"<hostname>:<folder>"`), `lease` how long a claim
    holds; opening changes no row: the daemon calls `recover_interrupted` at start."""

    def __init__(self, path: Path, owner: str | None = None,
                 lease: timedelta = DEFAULT_LEASE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.owner = owner or default_owner(path.parent)
        self.lease = lease
        _private_file(path)
        self._lock = threading.RLock()
        # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self.db.execute("PRAGMA busy_timeout=10000")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.upgraded = upgrade(self.db, path)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise SchemaMismatch(_("cannot open the ledger {path}: {error}").format(
                path=path, error=exc)) from None
        except BaseException:
            self.db.close()
            raise
        # Documents go through a connection of their own, so that a feed build on a worker
        # thread never interleaves with a ledger transaction of the event loop's thread.
        self._docs: sqlite3.Connection | None = None
        self._docs_lock = threading.Lock()

    # -- context management --------------------------------------------------------------

    @_serialized
    def ping(self) -> None:
        self.db.execute("SELECT 1").fetchone()

    @_serialized
    def close(self) -> None:
        with self._docs_lock:
            if self._docs is not None:
                self._docs.close()
                self._docs = None
        self.db.close()


    def _begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    # -- planning ------------------------------------------------------------------------

    @_serialized
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

    @_serialized
    def _meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    @_serialized
    def _set_meta(self, name: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) "
                        "DO UPDATE SET value = excluded.value", (name, value))

    @_serialized
    def set_planned_through(self, day: date) -> None:
        self.db.execute("INSERT INTO meta (name, value) VALUES ('planned_through', ?) "
                        "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)",
                        (day.isoformat(),))

    # -- the state machine ---------------------------------------------------------------

    @_serialized
    def recover_interrupted(self) -> int:
        cursor = self.db.execute("UPDATE reminder SET state = 'planned', owner = NULL, "
                                 "lease_ts = NULL WHERE state = 'sending' AND "
                                 "(owner = ? OR owner IS NULL)", (self.owner,))
        return cursor.rowcount

    @_serialized
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

    @_serialized
    def claim_due(self, now: datetime, limit: int, done: Sequence[Outcome] = ()) -> list[Claim]:
        self._begin()
        try:
            self._record(done)
            claims = self._select_due(_ts(now), limit) if limit > 0 else []
            lease = _ts(now + self.lease)
            for claim in claims:
                for chunk in _chunks(claim.reminder_keys):
                    marks = ",".join("?" * len(chunk))
                    self.db.execute(f"UPDATE reminder SET state = 'sending', token = ?, "
                                    f"owner = ?, lease_ts = ? WHERE key IN ({marks})",
                                    (claim.token, self.owner, lease, *chunk))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return claims

    def _select_due(self, now_ts: float, limit: int) -> list[Claim]:
        """Up to `limit` whole groups (digest key, token) of due planned rows and of
        sending rows whose lease expired."""
        groups: dict[tuple[str, str | None], list[tuple[str, str, int]]] = {}
        # Expired leases first (a dead node's claims, usually none), then planned rows in
        # due order: each query walks its own index and stops after `limit` groups.
        for query in ("SELECT digest_key, token, key, send_day, attempts FROM reminder "
                      "WHERE state = 'sending' AND lease_ts <= ? "
                      "ORDER BY lease_ts, digest_key, token",
                      "SELECT digest_key, token, key, send_day, attempts FROM reminder "
                      "WHERE state = 'planned' AND next_ts <= ? "
                      "ORDER BY next_ts, digest_key, token"):
            cursor = self.db.execute(query, (now_ts,))
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

    @_serialized
    def renew(self, claims: Sequence[Claim], now: datetime) -> list[Claim]:
        lost = []
        lease = _ts(now + self.lease)
        self._begin()
        try:
            for claim in claims:
                held = 0
                for chunk in _chunks(claim.reminder_keys):
                    marks = ",".join("?" * len(chunk))
                    held += self.db.execute(
                        f"UPDATE reminder SET lease_ts = ? WHERE key IN ({marks}) AND "
                        f"state = 'sending' AND owner = ? AND token = ?",
                        (lease, *chunk, self.owner, claim.token)).rowcount
                if not held:
                    lost.append(claim)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return lost

    @_serialized
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
        """`record` inside the caller's transaction: only rows this node still holds."""
        for outcome in outcomes:
            at = _ts(outcome.at)
            held = (self.owner, outcome.claim.token)
            for chunk in _chunks(outcome.claim.reminder_keys):
                marks = ",".join("?" * len(chunk))
                mine = f"key IN ({marks}) AND state = 'sending' AND owner = ? AND token = ?"
                if outcome.result == "retry":
                    retry = _ts(outcome.retry_at or outcome.at)
                    self.db.execute(
                        f"UPDATE reminder SET state = 'planned', attempts = attempts + 1, "
                        f"next_ts = ?, error = ?, owner = NULL, lease_ts = NULL WHERE {mine}",
                        (retry, outcome.error, *chunk, *held))
                else:
                    self.db.execute(
                        f"UPDATE reminder SET state = ?, attempts = attempts + 1, "
                        f"done_ts = ?, error = ?, lease_ts = NULL WHERE {mine}",
                        (outcome.result, at, outcome.error or None, *chunk, *held))

    @_serialized
    def forget(self, reminder_keys: Iterable[str]) -> None:
        keys = list(reminder_keys)
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM reminder WHERE state IN ('planned', 'sending') "
                            f"AND key IN ({marks})", tuple(chunk))

    # -- questions -----------------------------------------------------------------------

    @_serialized
    def next_attempt_after(self, after: datetime) -> datetime | None:
        # A `sending` row whose lease runs out (a node died) is due again then.
        row = self.db.execute("SELECT MIN(t) FROM (SELECT MIN(next_ts) AS t FROM reminder "
                              "WHERE state = 'planned' AND next_ts > ?1 UNION ALL "
                              "SELECT MIN(lease_ts) FROM reminder WHERE state = 'sending' "
                              "AND lease_ts > ?1)", (_ts(after),)).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.fromtimestamp(row[0], UTC).astimezone(after.tzinfo)

    @_serialized
    def states(self, reminder_keys: Iterable[str]) -> Mapping[str, State]:
        found: dict[str, State] = {}
        keys = list(reminder_keys)
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, state in self.db.execute(
                    f"SELECT key, state FROM reminder WHERE key IN ({marks})", tuple(chunk)):
                found[str(key)] = state
        return found

    @_serialized
    def counts(self) -> Mapping[State, int]:
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        for state, number in self.db.execute(
                "SELECT state, COUNT(*) FROM reminder GROUP BY state"):
            counts[state] = int(number)
        return counts

    @_serialized
    def errors(self, state: State) -> list[tuple[str, str]]:
        """(reminder key, error) of every row in `state`, for reports."""
        return [(str(k), str(e or "")) for k, e in self.db.execute(
            "SELECT key, error FROM reminder WHERE state = ? ORDER BY key", (state,))]

    # -- follow-up confirmations ---------------------------------------------------------

    @_serialized
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

    @_serialized
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

    @_serialized
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

    @_serialized
    def confirmations_version(self) -> int:
        row = self.db.execute("SELECT MAX(rowid) FROM confirmation_log").fetchone()
        return int(row[0] or 0)

    @_serialized
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

"""The PostgreSQL store: several nodes share one database (psycopg 3 and its pool).

Same rows and rules as SQLite (see `scheduler.store`), with what sharing adds:

- Every change is one transaction (READ COMMITTED). A claim locks its candidate rows with
  `SELECT ... FOR UPDATE SKIP LOCKED` and keeps a group only if it locked every due row of
  it, so two nodes never claim the same group, nor halves of one.
- `update_document` takes a transaction-scoped advisory lock on the document's name before
  reading it: writers on every node are serialized, even the very first insert.
- `confirmations_version` is a counter bumped in every confirm/undo transaction (a row
  lock orders them), so any node's change is seen by every node's cache.
- A database that cannot be reached (refused, restarted, cut, pool exhausted past 5 s)
  raises `StoreUnavailable` naming host:port only; the broken connection is discarded and
  the next call connects afresh. The failed call changed nothing — unless the connection
  broke during its COMMIT, when it may have committed. Every call is safe to repeat: a
  claim that did commit expires and is taken again under the same token, a result or a
  confirmation recorded twice is recorded once.
- The schema is checked at the first call: older than the program means `lichnhac db
  upgrade` first, newer is refused (`SchemaMismatch`). Only `db upgrade` changes it.
- Deadlocks and serialization failures are retried (the whole transaction, up to 5 times).

Times are UTC epoch seconds (`double precision`), days `date`: they round-trip exactly as
in SQLite.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from scheduler.database_url import masked, where
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
    State,
    StoreUnavailable,
    message_token,
)
from scheduler.store.migrations import SCHEMA_VERSION, pending, refuse_older
from scheduler.store.migrations.postgresql import STEPS

log = logging.getLogger(__name__)
# The pool logs every failed (re)connection attempt; callers get StoreUnavailable with the
# reason instead, and decide what to log.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

T = TypeVar("T")
Cursor = psycopg.Cursor[Any]

CONNECT_TIMEOUT = 3     # seconds to open one connection
POOL_TIMEOUT = 5.0      # seconds to wait for a connection from the pool
RETRIES = 5             # a transaction that deadlocked or failed to serialize runs again
# Deadlocks and serialization failures: the transaction is run again.
RETRYABLE = (psycopg.errors.TransactionRollback, psycopg.errors.DeadlockDetected,
             psycopg.errors.SerializationFailure)
# Rows added at once after which the table's statistics are refreshed (see `add`).
ANALYZE_AFTER = 1000
DUE = ("((state = 'planned' AND next_ts <= %(now)s) OR "
       "(state = 'sending' AND lease_ts <= %(now)s))")


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _connection_trouble(exc: psycopg.Error) -> bool:
    """A lost or refused connection, a server shutting down or out of connections, bad
    credentials: the database is unavailable, not the query wrong."""
    state = exc.sqlstate
    return state is None or state[:2] in ("08", "28", "53", "57")


def schema_version(cursor: Cursor) -> int:
    """The database's schema version (0: no lichnhac tables yet)."""
    cursor.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    row = cursor.fetchone()
    if row is None or not row[0]:
        return 0
    cursor.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    row = cursor.fetchone()
    return int(row[0]) if row else 0


class PostgresqlStore(ClosingStore):
    """`Store` on one PostgreSQL database shared by every node of a deployment."""

    def __init__(self, url: str, owner: str, lease: timedelta = DEFAULT_LEASE, *,
                 pool_size: int = 4, check_schema: bool = True) -> None:
        self.url = url
        self.owner = owner
        self.lease = lease
        self.where = where(url)
        self._checked = not check_schema
        self._down = False     # the last call found the database away (see `_connection`)
        self.pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, min_size=1, max_size=max(pool_size, 1), timeout=POOL_TIMEOUT, open=False,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT,
                    "application_name": "lichnhac"},
            check=ConnectionPool.check_connection, name=f"lichnhac {masked(url)}")
        self.pool.open(wait=False)

    # -- context management --------------------------------------------------------------

    def close(self) -> None:
        self.pool.close()


    # -- connections and transactions ----------------------------------------------------

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        self._down = True
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StoreUnavailable(_("the database {where} cannot be reached: {reason}")
                                .format(where=self.where, reason=reason))

    def _why_no_connection(self) -> Exception:
        """The pool only says it waited: one direct attempt tells why (refused, unknown
        host, bad password), or that every pooled connection was busy."""
        try:
            psycopg.connect(self.url, connect_timeout=2).close()   # libpq minimum
        except psycopg.Error as exc:
            return exc
        return PoolTimeout(_("all {size} connections stayed busy for {seconds:g} s").format(
            size=self.pool.max_size, seconds=POOL_TIMEOUT))

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection. While the database is away, each call first tries one
        direct connection (instant when refused, at most the libpq minimum of 2 s on a
        cut network) instead of waiting out the pool's timeout: the daemon calls the store
        from its event loop, which must keep answering during an outage."""
        if self._down:
            reason = self._why_no_connection()
            if not isinstance(reason, PoolTimeout):
                raise self._unavailable(reason)
            self._down = False
        try:
            with self.pool.connection() as conn:
                if not self._checked:
                    with conn.cursor() as cursor:
                        refuse_older(schema_version(cursor), self.where)
                    self._checked = True
                yield conn
        except PoolTimeout:
            raise self._unavailable(self._why_no_connection()) from None
        except RETRYABLE:
            raise
        except psycopg.OperationalError as exc:
            if not _connection_trouble(exc):
                raise
            raise self._unavailable(exc) from None
        except psycopg.InterfaceError as exc:   # e.g. "the connection is closed"
            raise self._unavailable(exc) from None

    def _transaction(self, work: Callable[[Cursor], T]) -> T:
        """Run `work` in one transaction; deadlocks and serialization failures rerun it."""
        for attempt in range(RETRIES):
            try:
                with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
                    return work(cursor)
            except RETRYABLE:
                if attempt == RETRIES - 1:
                    raise
                log.debug("store transaction rolled back (attempt %d); running it again",
                          attempt + 1)
        raise AssertionError("unreachable")

    def _rows(self, query: str, params: Mapping[str, Any] | Sequence[Any] = ()
              ) -> list[tuple[Any, ...]]:
        with self._connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()

    def ping(self) -> None:
        """One round trip (and the schema check): raises `StoreUnavailable` when down."""
        self._rows("SELECT 1")

    # -- schema --------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._connection_unchecked() as conn, conn.cursor() as cursor:
            return schema_version(cursor)

    @contextmanager
    def _connection_unchecked(self) -> Iterator[psycopg.Connection[Any]]:
        checked, self._checked = self._checked, True
        try:
            with self._connection() as conn:
                yield conn
        finally:
            self._checked = checked

    def upgrade(self) -> list[tuple[int, str]]:
        """Apply the pending steps in one transaction (`lichnhac db upgrade`); returns
        (version, summary) of each. Concurrent upgrades wait for each other."""
        def work(cursor: Cursor) -> list[tuple[int, str]]:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended("
                           "'lichnhac schema', 0))")
            steps = pending(schema_version(cursor), STEPS)
            if steps:
                cursor.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer "
                               "PRIMARY KEY, applied_ts double precision NOT NULL, "
                               "summary text NOT NULL)")
            for step in steps:
                for statement in step.statements:
                    cursor.execute(statement)
                cursor.execute("INSERT INTO schema_version VALUES (%s, extract(epoch FROM "
                               "clock_timestamp()), %s)", (step.version, step.summary))
            return [(step.version, step.summary) for step in steps]

        with self._connection_unchecked():
            done = self._transaction_unchecked(work)
        self._checked = False
        if done:
            log.info("database %s upgraded to schema version %d", masked(self.url),
                     SCHEMA_VERSION)
        return done

    def _transaction_unchecked(self, work: Callable[[Cursor], T]) -> T:
        checked, self._checked = self._checked, True
        try:
            return self._transaction(work)
        finally:
            self._checked = checked

    # -- planning ------------------------------------------------------------------------

    def add(self, rows: Iterable[PlannedRow]) -> int:
        values = [(r.key, r.digest_key, r.unit, r.send_at.date(), _ts(r.send_at),
                   r.event_end, _ts(r.send_at)) for r in rows]
        if not values:
            return 0

        def work(cursor: Cursor) -> int:
            cursor.execute(
                "INSERT INTO reminder (key, digest_key, unit, send_day, send_ts, event_end, "
                "next_ts) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], "
                "%s::date[], %s::float8[], %s::date[], %s::float8[]) "
                "ON CONFLICT (key) DO NOTHING", [list(column) for column in zip(*values,
                                                                                  strict=True)])
            return cursor.rowcount

        added = self._transaction(work)
        if added >= ANALYZE_AFTER:
            # The planner's statistics would still describe the table before this send
            # day's rows (autovacuum analyzes it a minute or more later): the claims of
            # a national burst then sorted every due row, each time, 30-60× slower.
            self._transaction(lambda cursor: cursor.execute("ANALYZE reminder"))
        return added

    def _meta(self, name: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE name = %s", (name,))
        return str(rows[0][0]) if rows else None

    def _set_meta(self, name: str, value: str) -> None:
        self._transaction(lambda cursor: cursor.execute(
            "INSERT INTO meta (name, value) VALUES (%s, %s) ON CONFLICT (name) "
            "DO UPDATE SET value = EXCLUDED.value", (name, value)))

    def set_planned_through(self, day: date) -> None:
        self._transaction(lambda cursor: cursor.execute(
            "INSERT INTO meta (name, value) VALUES ('planned_through', %s) ON CONFLICT (name) "
            "DO UPDATE SET value = GREATEST(meta.value, EXCLUDED.value)", (day.isoformat(),)))

    # -- the state machine ---------------------------------------------------------------

    def recover_interrupted(self) -> int:
        return self._transaction(lambda cursor: cursor.execute(
            "UPDATE reminder SET state = 'planned', owner = NULL, lease_ts = NULL "
            "WHERE state = 'sending' AND (owner = %s OR owner IS NULL)",
            (self.owner,)).rowcount)

    def mark_missed(self, send_day_before: date, today: date) -> list[str]:
        def work(cursor: Cursor) -> list[str]:
            cursor.execute(
                "UPDATE reminder SET state = 'missed', error = CASE WHEN event_end < %(today)s "
                "THEN 'event over' ELSE 'beyond grace window' END WHERE state = 'planned' "
                "AND (send_day < %(before)s OR event_end < %(today)s) RETURNING digest_key",
                {"today": today, "before": send_day_before})
            return sorted({str(r[0]) for r in cursor.fetchall()})

        return self._transaction(work)

    def claim_due(self, now: datetime, limit: int, done: Sequence[Outcome] = ()) -> list[Claim]:
        def work(cursor: Cursor) -> list[Claim]:
            self._record(cursor, done)
            return self._claim(cursor, _ts(now), _ts(now + self.lease), limit)

        if limit <= 0 and not done:
            return []
        return self._transaction(work)

    def _candidates(self, cursor: Cursor, now_ts: float, limit: int,
                    skip: set[str]) -> list[tuple[str, str | None]]:
        """Up to `limit` due groups (digest key, token) in due order, not locked yet."""
        scan = limit * 8
        while True:
            cursor.execute(
                "(SELECT next_ts, digest_key, token FROM reminder WHERE state = 'planned' "
                "AND next_ts <= %(now)s AND NOT digest_key = ANY(%(skip)s) "
                "ORDER BY next_ts, digest_key, token LIMIT %(scan)s) UNION ALL "
                "(SELECT next_ts, digest_key, token FROM reminder WHERE state = 'sending' "
                "AND lease_ts <= %(now)s AND NOT digest_key = ANY(%(skip)s) "
                "ORDER BY lease_ts LIMIT %(scan)s)",
                {"now": now_ts, "skip": list(skip), "scan": scan})
            rows = cursor.fetchall()
            groups: dict[tuple[str, str | None], None] = {}
            for _next, digest_key, token in sorted(rows, key=lambda r: (r[0], r[1],
                                                                        r[2] or "")):
                groups.setdefault((digest_key, token))
                if len(groups) == limit:
                    break
            if len(groups) >= limit or len(rows) < scan:
                return list(groups)[:limit]
            scan *= 4

    def _claim(self, cursor: Cursor, now_ts: float, lease_ts: float,
               limit: int) -> list[Claim]:
        claims: list[Claim] = []
        skip: set[str] = set()
        for _round in range(4):   # groups another node holds are skipped; fill the room
            wanted = limit - len(claims)
            if wanted <= 0:
                break
            candidates = self._candidates(cursor, now_ts, wanted, skip)
            if not candidates:
                break
            digests = sorted({digest_key for digest_key, _token in candidates})
            skip.update(digests)
            params = {"now": now_ts, "digests": digests}
            cursor.execute(f"SELECT key, digest_key, token, send_day, attempts FROM reminder "
                           f"WHERE digest_key = ANY(%(digests)s) AND {DUE} "
                           f"FOR UPDATE SKIP LOCKED", params)
            locked: dict[tuple[str, str | None], list[tuple[str, date, int]]] = {}
            for key, digest_key, token, send_day, attempts in cursor.fetchall():
                locked.setdefault((digest_key, token), []).append((key, send_day, attempts))
            # Every due row of a group, locked or not: a group partly locked by another
            # transaction is left to it.
            cursor.execute(f"SELECT digest_key, token, COUNT(*) FROM reminder "
                           f"WHERE digest_key = ANY(%(digests)s) AND {DUE} GROUP BY 1, 2",
                           params)
            totals = {(d, t): int(n) for d, t, n in cursor.fetchall()}
            for group in candidates:
                rows = locked.get(group)
                if not rows or len(rows) != totals.get(group):
                    continue
                digest_key, token = group
                keys = tuple(sorted(r[0] for r in rows))
                claims.append(Claim(digest_key=digest_key,
                                    token=token or message_token(digest_key, keys),
                                    reminder_keys=keys, send_day=rows[0][1],
                                    attempts=max(r[2] for r in rows)))
            if len(candidates) < wanted:
                break
        if claims:
            claimed = [key for c in claims for key in c.reminder_keys]
            tokens = [c.token for c in claims for _key in c.reminder_keys]
            cursor.execute(
                "UPDATE reminder r SET state = 'sending', token = c.token, owner = %s, "
                "lease_ts = %s FROM unnest(%s::text[], %s::text[]) AS c(key, token) "
                "WHERE r.key = c.key", (self.owner, lease_ts, claimed, tokens))
        return claims

    def renew(self, claims: Sequence[Claim], now: datetime) -> list[Claim]:
        if not claims:
            return []
        lease_ts = _ts(now + self.lease)

        keys = [key for c in claims for key in c.reminder_keys]
        tokens = [c.token for c in claims for _key in c.reminder_keys]

        def work(cursor: Cursor) -> list[Claim]:
            cursor.execute("UPDATE reminder r SET lease_ts = %s FROM unnest(%s::text[], "
                           "%s::text[]) AS c(key, token) WHERE r.key = c.key AND "
                           "r.state = 'sending' AND r.owner = %s AND r.token = c.token "
                           "RETURNING r.token", (lease_ts, keys, tokens, self.owner))
            held = {str(row[0]) for row in cursor.fetchall()}
            return [c for c in claims if c.token not in held]

        return self._transaction(work)

    def record(self, outcomes: Sequence[Outcome]) -> None:
        if outcomes:
            self._transaction(lambda cursor: self._record(cursor, outcomes))

    def _record(self, cursor: Cursor, outcomes: Sequence[Outcome]) -> None:
        """`record` inside the caller's transaction: only rows this node still holds (one
        statement per kind of result, the rows as arrays)."""
        retries: list[list[Any]] = [[], [], [], []]    # key, token, next_ts, error
        finals: list[list[Any]] = [[], [], [], [], []]  # key, token, state, done_ts, error
        for o in outcomes:
            for key in o.claim.reminder_keys:
                if o.result == "retry":
                    row: tuple[Any, ...] = (key, o.claim.token, _ts(o.retry_at or o.at),
                                            o.error)
                    columns = retries
                else:
                    row = (key, o.claim.token, o.result, _ts(o.at), o.error or None)
                    columns = finals
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
        mine = "r.key = c.key AND r.state = 'sending' AND r.owner = %s AND r.token = c.token"
        if retries[0]:
            cursor.execute(
                f"UPDATE reminder r SET state = 'planned', attempts = r.attempts + 1, "
                f"next_ts = c.next_ts, error = c.error, owner = NULL, lease_ts = NULL "
                f"FROM unnest(%s::text[], %s::text[], %s::float8[], %s::text[]) "
                f"AS c(key, token, next_ts, error) WHERE {mine}", (*retries, self.owner))
        if finals[0]:
            cursor.execute(
                f"UPDATE reminder r SET state = c.state, attempts = r.attempts + 1, "
                f"done_ts = c.done_ts, error = c.error, lease_ts = NULL "
                f"FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::text[]) "
                f"AS c(key, token, state, done_ts, error) WHERE {mine}", (*finals, self.owner))

    def forget(self, reminder_keys: Iterable[str]) -> None:
        keys = list(reminder_keys)
        if keys:
            self._transaction(lambda cursor: cursor.execute(
                "DELETE FROM reminder WHERE state IN ('planned', 'sending') AND "
                "key = ANY(%s)", (keys,)))

    # -- questions -----------------------------------------------------------------------

    def next_attempt_after(self, after: datetime) -> datetime | None:
        # A `sending` row whose lease runs out (a node died) is due again then.
        rows = self._rows("SELECT MIN(t) FROM (SELECT MIN(next_ts) AS t FROM reminder "
                          "WHERE state = 'planned' AND next_ts > %(after)s UNION ALL "
                          "SELECT MIN(lease_ts) FROM reminder WHERE state = 'sending' AND "
                          "lease_ts > %(after)s) AS due", {"after": _ts(after)})
        if not rows or rows[0][0] is None:
            return None
        return datetime.fromtimestamp(rows[0][0], UTC).astimezone(after.tzinfo)

    def states(self, reminder_keys: Iterable[str]) -> Mapping[str, State]:
        keys = list(reminder_keys)
        if not keys:
            return {}
        return {str(key): state for key, state in self._rows(
            "SELECT key, state FROM reminder WHERE key = ANY(%s)", (keys,))}

    def counts(self) -> Mapping[State, int]:
        counts: dict[State, int] = dict.fromkeys(STATES, 0)
        for state, number in self._rows("SELECT state, COUNT(*) FROM reminder "
                                         "GROUP BY state"):
            counts[state] = int(number)
        return counts

    def errors(self, state: State) -> list[tuple[str, str]]:
        return [(str(k), str(e or "")) for k, e in self._rows(
            "SELECT key, error FROM reminder WHERE state = %s ORDER BY key", (state,))]

    # -- follow-up confirmations ---------------------------------------------------------

    def confirm(self, confirmation: Confirmation) -> bool:
        c = confirmation
        offset = c.at.utcoffset()
        ref = c.ref or None

        def work(cursor: Cursor) -> bool:
            cursor.execute(
                "INSERT INTO confirmation (unit, event, due, at_ts, at_offset, by, ref) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (due, unit, event) DO UPDATE "
                "SET ref = COALESCE(EXCLUDED.ref, confirmation.ref) RETURNING (xmax = 0)",
                (c.unit, c.event, c.due, _ts(c.at),
                 int(offset.total_seconds()) if offset else 0, c.by, ref))
            row = cursor.fetchone()
            self._log(cursor, _ts(c.at), "confirm", c.unit, c.event, c.due, c.by, ref)
            if c.occurrence_key:
                prefix = f"{c.unit}/{c.occurrence_key}/"
                pattern = (prefix.replace("\\", "\\\\").replace("%", "\\%")
                           .replace("_", "\\_") + "%")
                cursor.execute("DELETE FROM reminder WHERE state = 'planned' AND key LIKE %s",
                               (pattern,))
            return bool(row and row[0])

        return self._transaction(work)

    @staticmethod
    def _log(cursor: Cursor, at_ts: float, action: str, unit: str, event: str, due: date,
             by: str, ref: str | None) -> None:
        cursor.execute("INSERT INTO confirmation_log (at_ts, action, unit, event, due, by, "
                       "ref) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                       (at_ts, action, unit, event, due, by, ref))
        cursor.execute("UPDATE counter SET value = value + 1 WHERE name = 'confirmations'")

    def unconfirm(self, unit: str, event: str, due: date, at: datetime,
                  by: ConfirmedBy) -> bool:
        def work(cursor: Cursor) -> bool:
            cursor.execute("DELETE FROM confirmation WHERE due = %s AND unit = %s AND "
                           "event = %s", (due, unit, event))
            removed = cursor.rowcount > 0
            if removed:
                self._log(cursor, _ts(at), "undo", unit, event, due, by, None)
            return removed

        return self._transaction(work)

    def confirmations(self, due_from: date, due_to: date) -> list[Confirmation]:
        found = []
        zones: dict[int, timezone] = {}
        for unit, event, due, at_ts, offset, by, ref in self._rows(
                "SELECT unit, event, due, at_ts, at_offset, by, ref FROM confirmation "
                "WHERE due BETWEEN %s AND %s ORDER BY due, unit, event", (due_from, due_to)):
            zone = zones.get(offset)
            if zone is None:
                zone = zones[offset] = timezone(timedelta(seconds=offset))
            found.append(Confirmation(unit, event, due, datetime.fromtimestamp(at_ts, zone),
                                      by, ref))
        return found

    def confirmations_version(self) -> int:
        rows = self._rows("SELECT value FROM counter WHERE name = 'confirmations'")
        return int(rows[0][0]) if rows else 0

    def confirmation_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM confirmation")[0][0])

    # -- named documents -----------------------------------------------------------------

    def read_document(self, name: str) -> bytes | None:
        rows = self._rows("SELECT body FROM document WHERE name = %s", (name,))
        return bytes(rows[0][0]) if rows else None

    def update_document(self, name: str,
                        change: Callable[[bytes | None], bytes | None]) -> bytes | None:
        def work(cursor: Cursor) -> bytes | None:
            # Every writer of this name, on every node, waits here until COMMIT.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           (f"lichnhac document {name}",))
            cursor.execute("SELECT body FROM document WHERE name = %s", (name,))
            row = cursor.fetchone()
            current = None if row is None else bytes(row[0])
            new = change(current)
            if new is not None and new != current:
                cursor.execute("INSERT INTO document (name, body) VALUES (%s, %s) "
                               "ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body",
                               (name, new))
                current = new
            return current

        return self._transaction(work)

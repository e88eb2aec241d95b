"""The store: everything the nodes of one deployment must agree on, durably.

Its main part is the delivery ledger: what was planned, claimed, sent, failed or missed.
Beside it: follow-up confirmations, the "planned through" and "last delivery" marks, and
small named documents (feed revisions, private feed tokens, the link-signing secret) that
are read and changed whole, one writer at a time (`read_document`/`update_document`).
A node's state dir keeps only local things (the outbox, caches).


One row per reminder (unit, occurrence, lead), keyed `<unit>/<occurrence.key>/<lead>`,
carrying its digest key (`<send-date>/<unit>`). A row moves

    planned ──claim──> sending ──> sent | failed          (and planned ──> missed)
       ^                  │
       └──── retry ───────┘  (temporary failure: attempts + 1, next attempt later)

**How a digest's rows travel together.** `claim_due` claims whole groups: every due
`planned` row of one digest key that shares one message token (NULL for fresh rows).
The token — `message_token(digest_key, reminder_keys)` — is stored on the rows at claim
time and becomes the email's Message-ID, so a retry or a resend after a crash carries the
same id. Results are recorded per group (`record`, or `claim_due(..., done=)` which
records and claims in one transaction), many groups per transaction.

**Claims are leases.** A claim sets the rows `sending`, their token, `owner` (the node id
the store was opened with: by default `"<hostname>:<state dir>"`, one daemon per state dir)
and `lease_ts = now + lease` (120 s by default). While a send is in progress the daemon
calls `renew(claims, now)` to push the lease on; `renew` answers with the claims it no
longer holds. The rules:

- `claim_due(now)` takes due `planned` rows *and* `sending` rows whose lease expired
  (`lease_ts <= now`), grouped by (digest key, token) as always: a node that died leaves
  leases another takes over after expiry, resending under the same token, i.e. the same
  Message-ID. On PostgreSQL the candidate rows are locked with `FOR UPDATE SKIP LOCKED`,
  so concurrent nodes never claim the same group.
- `record` changes only rows still `sending`, owned by the caller and carrying the claim's
  token: a node whose lease was taken over cannot move another node's rows back.
- `recover_interrupted()` (the daemon calls it once at start) puts back to `planned`, token
  kept, the rows `sending` owned by *this* node id (its previous incarnation died) or by
  no one (ledgers from before leases); other nodes' rows wait for their lease to expire.
  Opening a store changes nothing, so `lichnhac status` beside a running daemon is safe.
- Leases compare the `now` each node passes, i.e. each node's clock: nodes sharing a
  database need synchronized clocks (NTP); a node whose clock runs ahead by more than the
  lease may take over live claims (the receiving server then sees a duplicate Message-ID).

A message is sent twice only when a node stops between handing it to the mail server and
recording it (or stalls past its lease); the copies carry the same Message-ID, so a
receiving server can drop the duplicate.

Back-ends implement `Store`; `open_store(config)` picks one. SQLite (`sqlite.py`, WAL,
`synchronous=FULL`) is the embedded default; PostgreSQL (`postgresql.py`, psycopg 3 and its
pool) lets several nodes share one database. A PostgreSQL that cannot be reached raises
`StoreUnavailable` (the caller pauses and tries again later; the next call reconnects).

The methods are synchronous (SQLite calls take microseconds to a few fsyncs), so the
daemon may call `counts()` from anywhere:

    with open_store(config) as ledger:   # or: ledger = open_store(config); ... ledger.close()
        ledger.add(rows); claims = ledger.claim_due(now, limit=64); ledger.record(outcomes)
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from types import TracebackType
from typing import Literal, NamedTuple, Protocol, Self

from scheduler.config import Config
from scheduler.errors import LichnhacError

State = Literal["planned", "sending", "sent", "failed", "missed"]
STATES: tuple[State, ...] = ("planned", "sending", "sent", "failed", "missed")


DEFAULT_LEASE = timedelta(seconds=120)


class StoreUnavailable(LichnhacError, ConnectionError):
    """The database cannot be reached (refused, lost, timed out); the next call tries
    again. The failed call changed nothing unless the connection broke during its COMMIT
    (then it may have committed; every call is safe to repeat). The message names
    host:port only, never the password."""


class SchemaMismatch(LichnhacError):
    """The database's schema is older (run `lichnhac db upgrade`) or newer than this
    program knows."""


class ClosingStore:
    """What both back-ends share: `aclose` and the context manager over their `close`,
    and the marks read and written through their `_meta`/`_set_meta`."""

    def close(self) -> None:
        raise NotImplementedError

    def _meta(self, name: str) -> str | None:
        raise NotImplementedError

    def _set_meta(self, name: str, value: str) -> None:
        raise NotImplementedError

    def planned_through(self) -> date | None:
        value = self._meta("planned_through")
        return None if value is None else date.fromisoformat(value)

    def last_delivery(self) -> datetime | None:
        value = self._meta("last_delivery")
        return None if value is None else datetime.fromisoformat(value)

    def set_last_delivery(self, at: datetime) -> None:
        self._set_meta("last_delivery", at.isoformat())

    async def aclose(self) -> None:
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def default_owner(state_dir: Path) -> str:
    """The node id a store is opened with: `"<hostname>:<state dir>"`."""
    return f"{socket.gethostname()}:{state_dir.resolve()}"


def message_token(digest_key: str, reminder_keys: Iterable[str]) -> str:
    """Deterministic for one set of reminders in one digest: the Message-ID's core."""
    text = "\n".join([digest_key, *sorted(reminder_keys)])
    return sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PlannedRow:
    """A reminder to record as planned (ignored if its key is already in the ledger)."""

    key: str
    digest_key: str
    unit: str
    send_at: datetime
    event_end: date


@dataclass(frozen=True)
class Claim:
    """A group of rows of one digest, now `sending`, to go out as one email."""

    digest_key: str
    token: str
    reminder_keys: tuple[str, ...]
    send_day: date
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What happened to one claim."""

    claim: Claim
    result: Literal["sent", "retry", "failed"]
    at: datetime
    error: str = ""
    retry_at: datetime | None = None   # for "retry"


ConfirmedBy = Literal["unit", "coordinator", "operator"]
CONFIRMED_BY: tuple[ConfirmedBy, ...] = ("unit", "coordinator", "operator")


class Confirmation(NamedTuple):
    """A unit's "report sent" for one occurrence (follow-up; see `scheduler.followup`).

    A NamedTuple, not a frozen dataclass: a national register reads ~100,000 of them per
    page and tuples are several times cheaper to build."""

    unit: str
    event: str
    due: date
    at: datetime
    by: ConfirmedBy
    ref: str | None = None
    occurrence_key: str = ""     # "<event>/<span key>": its planned reminders are dropped


class Store(Protocol):
    """The durable record of reminders. All datetimes are aware. Every method may be
    called from any thread (the delivery loop claims on a worker thread); each call is
    its own transaction."""

    owner: str            # this node's id: what its claims are leased to
    lease: timedelta      # how long a claim (or a renewal) holds

    def add(self, rows: Iterable[PlannedRow]) -> int:
        """Record rows as planned; existing keys are left alone. Returns rows added."""
        ...

    def planned_through(self) -> date | None:
        """The last send day whose reminders have all been added (None: never planned)."""
        ...

    def set_planned_through(self, day: date) -> None:
        """Move the mark to `day`, never back (nodes planning at once may race)."""
        ...

    def recover_interrupted(self) -> int:
        """`sending` rows of this node id or of no one (a crash mid-send) back to
        `planned`, token kept; returns rows. Called once at daemon start."""
        ...

    def mark_missed(self, send_day_before: date, today: date) -> list[str]:
        """`planned` rows due before `send_day_before`, or whose event ended before `today`,
        become `missed`; returns their distinct digest keys."""
        ...

    def claim_due(self, now: datetime, limit: int, done: Sequence[Outcome] = ()) -> list[Claim]:
        """Claim up to `limit` whole due groups (planned with next attempt at or before
        `now`, or sending with a lease expired at `now`) for this node, leased until
        `now + lease`, after recording `done` in the same transaction (see `record`)."""
        ...

    def renew(self, claims: Sequence[Claim], now: datetime) -> list[Claim]:
        """Extend to `now + lease` the lease of each claim this node still holds; returns
        the claims it no longer holds (taken over by another node, or forgotten)."""
        ...

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """sent / failed, or back to planned with a later next attempt (one transaction);
        only rows still `sending`, owned by this node, under the claim's token."""
        ...

    def forget(self, reminder_keys: Iterable[str]) -> None:
        """Drop unsent rows whose reminder no longer exists in the calendar."""
        ...

    def next_attempt_after(self, after: datetime) -> datetime | None:
        """The earliest `planned` row's next attempt, or `sending` row's lease end (another
        node may have died), strictly after `after`."""
        ...

    def states(self, reminder_keys: Iterable[str]) -> Mapping[str, State]:
        """The state of each known key."""
        ...

    def last_delivery(self) -> datetime | None:
        """When a delivery run last finished (kept across restarts)."""
        ...

    def set_last_delivery(self, at: datetime) -> None: ...

    def errors(self, state: State) -> list[tuple[str, str]]:
        """(reminder key, error) of every row in `state`: what `failed`/`missed` reports."""
        ...

    def counts(self) -> Mapping[State, int]:
        """Rows per state (every state present, zero included)."""
        ...

    def confirm(self, confirmation: Confirmation) -> bool:
        """Record a confirmation (committed on return) and drop the unit's still-planned
        reminders of that occurrence. Confirming again keeps the first time and author
        (a new non-empty `ref` replaces the old). True if it was not confirmed before."""
        ...

    def unconfirm(self, unit: str, event: str, due: date, at: datetime,
                  by: ConfirmedBy) -> bool:
        """Withdraw a confirmation (committed on return); True if there was one."""
        ...

    def confirmations(self, due_from: date, due_to: date) -> list[Confirmation]:
        """Every confirmation due in [due_from, due_to], by due day then unit."""
        ...

    def confirmation_count(self) -> int:
        """How many confirmations are recorded."""
        ...

    def confirmations_version(self) -> int:
        """A number that changes whenever a confirmation is made or withdrawn (by any
        process): readers cache what they built from `confirmations` under it."""
        ...

    def read_document(self, name: str) -> bytes | None:
        """The named document's current bytes (None: never written)."""
        ...

    def update_document(self, name: str,
                        change: Callable[[bytes | None], bytes | None]) -> bytes | None:
        """Read-modify-write one document in one transaction, every writer of every node
        serialized: `change` gets the current bytes (None: none yet) and returns the new
        ones (None: leave it as it is). Returns what is stored afterwards. `change` may
        run more than once (a retried transaction) and must not have side effects."""
        ...

    def ping(self) -> None:
        """One round trip to the database: raises `StoreUnavailable` (or `SchemaMismatch`)
        when it cannot be used, e.g. before READY=1 or for /healthz."""
        ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...

    def __enter__(self) -> Store: ...

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None: ...


def open_store(config: Config) -> Store:
    """The configured store: PostgreSQL when `[state]` names a database (its schema is
    checked at the first call), else SQLite at `<state dir>/ledger.sqlite3`. The node id
    is `"<hostname>:<state dir>"`, the lease `[state] lease_seconds`."""
    owner = default_owner(config.state_dir)
    lease = timedelta(seconds=config.lease_seconds)
    if config.database_url is not None:
        from scheduler.store.postgresql import PostgresqlStore

        return PostgresqlStore(config.database_url, owner=owner, lease=lease)
    from scheduler.store.sqlite import SqliteStore

    return SqliteStore(config.state_dir / "ledger.sqlite3", owner=owner, lease=lease)

"""What an outage of the store looks like to the running daemon.

`is_unavailable(exc)` tells a store that cannot answer *for now* (PostgreSQL restarting
or cut off, an SQLite file locked by another process past its busy timeout, a disk I/O
error or a full disk) from a bug or a broken schema, which must stay loud. `StoreHealth`
keeps what the daemon shows about it (/healthz, /metrics): "ok" or "unavailable", since
when, the last error; and the wait before the next try (1 s doubling to 30 s).

A store-unavailable error is never fatal: deliveries pause and retry, feeds keep being
served from memory, follow-up pages answer 503 with Retry-After, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

log = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 1.0
RETRY_CAP_SECONDS = 30.0
# What a page tells a browser while the store is away (seconds).
RETRY_AFTER_SECONDS = 10

# SQLite primary result codes that pass: another process holds the lock past the busy
# timeout, the disk failed a read or write, is full, or the file cannot be opened (a
# mount gone). Anything else (no such table, a malformed database) is not transient.
_SQLITE_TRANSIENT = {
    5,    # SQLITE_BUSY
    6,    # SQLITE_LOCKED
    10,   # SQLITE_IOERR
    13,   # SQLITE_FULL
    14,   # SQLITE_CANTOPEN
    15,   # SQLITE_PROTOCOL
}
_SQLITE_TRANSIENT_TEXT = ("database is locked", "database table is locked", "disk i/o error",
                          "database or disk is full", "unable to open database file")

StoreState = Literal["ok", "unavailable"]
T = TypeVar("T")


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the store cannot be reached or written *now* and a later try
    may work (the store's `StoreUnavailable` is a `ConnectionError`)."""
    if isinstance(exc, ConnectionError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int):
            return (code & 0xFF) in _SQLITE_TRANSIENT
        return str(exc).lower().startswith(_SQLITE_TRANSIENT_TEXT)
    return False


def retry_delay(failures: int) -> float:
    """Seconds before try `failures + 1`: 1 s doubling, capped at 30 s."""
    return float(min(RETRY_CAP_SECONDS, RETRY_FIRST_SECONDS * 2 ** min(max(failures - 1, 0),
                                                                       16)))


@dataclass
class StoreHealth:
    """The store as the daemon last found it."""

    state: StoreState = "ok"
    since: datetime | None = None
    error: str = ""
    failures: int = 0          # consecutive failed tries
    next_try: float = 0.0      # time.monotonic() before which status reads do not try

    def may_try(self) -> bool:
        """Whether a status read (/healthz, /metrics) should ask the store now: always
        while it answers; during an outage only on the retry schedule, since a call to a
        database that is down can take seconds, during which nothing else is served."""
        return self.state == "ok" or time.monotonic() >= self.next_try

    def failed(self, exc: BaseException, now: datetime, doing: str) -> float:
        """Note a failed try while `doing` something; log a warning when the store has
        just become unavailable (once per outage). Returns the seconds to wait."""
        self.failures += 1
        self.error = describe(exc)
        delay = retry_delay(self.failures)
        self.next_try = time.monotonic() + delay
        if self.state != "unavailable":
            self.state, self.since = "unavailable", now
            log.warning("store unavailable while %s: %s; deliveries and confirmations "
                        "pause, feeds are served from memory; retrying", doing, self.error)
        else:
            log.debug("store still unavailable while %s: %s", doing, self.error)
        return delay

    def answered(self, now: datetime) -> None:
        """Note that the store answered; log the end of an outage."""
        if self.state == "unavailable":
            down = (now - self.since).total_seconds() if self.since else 0.0
            log.warning("store available again after %.0f s; deliveries resume", down)
            self.state, self.since = "ok", now
        elif self.since is None:
            self.since = now
        self.failures, self.error = 0, ""

    def as_json(self) -> dict[str, str | None]:
        """The /healthz fields."""
        document: dict[str, str | None] = {
            "store": self.state,
            "store_since": self.since.isoformat(timespec="seconds") if self.since else None}
        if self.state == "unavailable":
            document["store_error"] = self.error
        return document


def describe(exc: BaseException) -> str:
    """One line naming the error, without the traceback (passwords never appear: the
    store's messages name host and port, not the URL)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


async def until_available(attempt: Callable[[], T], health: StoreHealth,
                          now: Callable[[], datetime], doing: str,
                          waiting: Callable[[str], object] = lambda _: None) -> T:
    """Run `attempt` until the store answers, waiting 1 s → 30 s between tries; errors
    that are not an outage propagate. `waiting(reason)` hears each failed try."""
    while True:
        try:
            result = attempt()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            delay = health.failed(exc, now(), doing)
            waiting(health.error)
            await asyncio.sleep(delay)
            continue
        health.answered(now())
        return result

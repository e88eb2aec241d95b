"""The small JSON file that gives feeds their SEQUENCE and LAST-MODIFIED from the data.

For each VEVENT UID it keeps the hash of the event's rendered content, its SEQUENCE and
when that content was first seen; for each feed, the hash of the feed and when it was
first seen. Same data → same entries → the same bytes, however often we render. A
changed event gets SEQUENCE + 1 and a later LAST-MODIFIED (at least one second later
than before, so If-Modified-Since never misses two changes on one day).

Stored at `<state dir>/feed-revisions.json`, written atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.files import write_atomic

log = logging.getLogger(__name__)

FILENAME = "feed-revisions.json"
FORMAT_VERSION = 1
# A UID or feed never seen before, rendered without a state dir (e.g. an email attachment).
UNKNOWN_STAMP = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stamp:
    """What one UID's or feed's current content is known as."""

    sequence: int
    created: datetime
    modified: datetime


def _parse(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Revisions:
    """UID and feed revisions, loaded from and saved to a state dir (or kept in memory)."""

    def __init__(self, path: Path | None, data: dict[str, Any] | None = None) -> None:
        self.path = path
        raw = data or {}
        self.events: dict[str, dict[str, Any]] = dict(raw.get("events", {}))
        self.feeds: dict[str, dict[str, Any]] = dict(raw.get("feeds", {}))
        self._seen_feeds: set[str] = set()
        self.changed = False

    @classmethod
    def load(cls, state_dir: Path | None) -> Revisions:
        """The revisions of `state_dir`, or empty ones (a missing or unreadable file)."""
        if state_dir is None:
            return cls(None)
        path = state_dir / FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s): feed SEQUENCE numbers start again", path, exc)
            return cls(path)
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            log.warning("%s has an unknown format: feed SEQUENCE numbers start again", path)
            return cls(path)
        return cls(path, data)

    def event(self, uid: str, revision: str, now: datetime) -> Stamp:
        """The stamp of `uid` with content hash `revision`, recording a change at `now`."""
        entry = self.events.get(uid)
        if entry is None:
            entry = {"revision": revision, "sequence": 0, "created": _iso(now),
                     "modified": _iso(now)}
            self.events[uid] = entry
            self.changed = True
        elif entry["revision"] != revision:
            previous = _parse(entry["modified"])
            entry.update(revision=revision, sequence=int(entry["sequence"]) + 1,
                         modified=_iso(max(now, previous + timedelta(seconds=1))))
            self.changed = True
        return Stamp(int(entry["sequence"]), _parse(entry["created"]),
                     _parse(entry["modified"]))

    def peek_event(self, uid: str, revision: str) -> Stamp:
        """The stamp `event` would give, without recording anything (read-only callers)."""
        entry = self.events.get(uid)
        if entry is None:
            return Stamp(0, UNKNOWN_STAMP, UNKNOWN_STAMP)
        if entry["revision"] != revision:
            previous = _parse(entry["modified"])
            return Stamp(int(entry["sequence"]) + 1, _parse(entry["created"]),
                         previous + timedelta(seconds=1))
        return Stamp(int(entry["sequence"]), _parse(entry["created"]),
                     _parse(entry["modified"]))

    def feed(self, path: str, revision: str, now: datetime) -> datetime:
        """When feed `path` with content hash `revision` last changed."""
        self._seen_feeds.add(path)
        entry = self.feeds.get(path)
        if entry is None:
            self.feeds[path] = {"revision": revision, "modified": _iso(now)}
            self.changed = True
            return _parse(_iso(now))
        if entry["revision"] != revision:
            previous = _parse(entry["modified"])
            entry.update(revision=revision,
                         modified=_iso(max(now, previous + timedelta(seconds=1))))
            self.changed = True
        return _parse(entry["modified"])

    def save(self) -> None:
        """Write the file atomically if anything changed; forget feeds no longer built."""
        stale = set(self.feeds) - self._seen_feeds
        for path in stale:
            del self.feeds[path]
        if self.path is None or not (self.changed or stale):
            return
        data = {"version": FORMAT_VERSION, "events": dict(sorted(self.events.items())),
                "feeds": dict(sorted(self.feeds.items()))}
        try:
            write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=0).encode())
        except OSError as exc:
            log.warning("cannot write %s (%s): the next build may repeat SEQUENCE numbers",
                        self.path, exc)
        self.changed = False

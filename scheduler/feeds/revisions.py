"""Feed revisions: what gives feeds their SEQUENCE and LAST-MODIFIED, kept in the store.

For each VEVENT UID the store keeps the hash of the event's rendered content, its SEQUENCE
and when that content was first seen; for each feed, the hash of the feed and when it was
first seen. Same data → same entries → the same bytes, however often and on whichever
node we render. A changed event gets SEQUENCE + 1 and a later LAST-MODIFIED (at least one
second later than before, so If-Modified-Since never misses two changes on one day).

**One decision per build, shared by every node.** A build first hashes every event and
every feed, then stamps them all in one read-modify-write of the store's document
(`stamp_events`, `stamp_feeds`), then renders with the stamps it got back. Writers are
serialized across nodes, so when two nodes rebuild after the same change the second sees
the first one's entry with the same hash and keeps its stamp: the change gets one
SEQUENCE number, and both nodes serve identical bytes and ETags.

Two documents, because they differ by three orders of magnitude: `feed-revisions/events`
(one entry per UID: a few hundred, read by every email attachment) and
`feed-revisions/feeds` (one entry per feed: ~33,550 nationally, 2.0 MB compact JSON,
rewritten only when some feed changed; bench/store_documents_bench.py). Times are UTC epoch seconds.

An older lichnhac kept both in `<state dir>/feed-revisions.json`; the first build imports
it (see `scheduler.store.documents`) and renames it `feed-revisions.json.imported`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.store import Store
from scheduler.store.documents import read_legacy, retire_legacy, update_imported

log = logging.getLogger(__name__)

LEGACY_FILE = "feed-revisions.json"
LEGACY_VERSION = 1
EVENTS_DOCUMENT = "feed-revisions/events"
FEEDS_DOCUMENT = "feed-revisions/feeds"
FORMAT_VERSION = 1
# A UID or feed never seen before, rendered without a state dir (e.g. an email attachment).
UNKNOWN_STAMP = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Stamp:
    """What one UID's or feed's current content is known as."""

    sequence: int
    created: datetime
    modified: datetime


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _parse_iso(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return _epoch(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


# -- the documents (pure) ------------------------------------------------------------------

def _load(data: bytes | None, key: str) -> dict[str, list[Any]]:
    if data is None:
        return {}
    try:
        return _parse_document(data, key)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("the %s revisions document is unreadable (%s): SEQUENCE numbers and "
                    "Last-Modified start again", key, exc)
        return {}


def _parse_document(data: bytes, key: str) -> dict[str, list[Any]]:
    parsed = json.loads(data)
    if not isinstance(parsed, dict) or parsed.get("version") != FORMAT_VERSION:
        raise ValueError(f"the {key} revisions document has an unknown format")
    return dict(parsed[key])


def _dump(entries: Mapping[str, list[Any]], key: str) -> bytes:
    return json.dumps({"version": FORMAT_VERSION, key: dict(sorted(entries.items()))},
                      ensure_ascii=False, separators=(",", ":")).encode()


def merge_events(entries: dict[str, list[Any]], wanted: Mapping[str, str],
                 now: int) -> bool:
    """Record content hashes `wanted` (UID → hash) at `now`; True if anything changed.

    An entry is `[hash, sequence, created, modified]`. UIDs not wanted are kept: an event
    that comes back continues its SEQUENCE."""
    changed = False
    for uid, revision in wanted.items():
        entry = entries.get(uid)
        if entry is None:
            entries[uid] = [revision, 0, now, now]
            changed = True
        elif entry[0] != revision:
            entries[uid] = [revision, int(entry[1]) + 1, int(entry[2]),
                            max(now, int(entry[3]) + 1)]
            changed = True
    return changed


def merge_feeds(entries: dict[str, list[Any]], wanted: Mapping[str, str], now: int) -> bool:
    """Record feed hashes `wanted` (path → hash) at `now` and forget feeds no longer built;
    True if anything changed. An entry is `[hash, modified]`."""
    changed = len(entries) != len(wanted) or not entries.keys() <= wanted.keys()
    if changed:
        for path in [p for p in entries if p not in wanted]:
            del entries[path]
    for path, revision in wanted.items():
        entry = entries.get(path)
        if entry is None:
            entries[path] = [revision, now]
            changed = True
        elif entry[0] != revision:
            entries[path] = [revision, max(now, int(entry[1]) + 1)]
            changed = True
    return changed


def _stamp(entry: list[Any]) -> Stamp:
    return Stamp(int(entry[1]), _moment(int(entry[2])), _moment(int(entry[3])))


# -- the upgrade from feed-revisions.json ---------------------------------------------------

def _legacy(raw: bytes, path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        log.warning("cannot read %s (%s): feed SEQUENCE numbers start again", path, exc)
        return None
    if not isinstance(data, dict) or data.get("version") != LEGACY_VERSION:
        log.warning("%s has an unknown format: feed SEQUENCE numbers start again", path)
        return None
    return data


def _legacy_events(path: Path) -> Callable[[bytes], bytes | None]:
    def convert(raw: bytes) -> bytes | None:
        data = _legacy(raw, path)
        if data is None:
            return None
        try:
            return _dump({str(uid): [str(e["revision"]), int(e["sequence"]),
                                     _parse_iso(e["created"]), _parse_iso(e["modified"])]
                          for uid, e in dict(data.get("events", {})).items()}, "events")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("%s: unusable event entries (%s): feed SEQUENCE numbers start again",
                        path, exc)
            return None
    return convert


def _legacy_feeds(path: Path) -> Callable[[bytes], bytes | None]:
    def convert(raw: bytes) -> bytes | None:
        data = _legacy(raw, path)
        if data is None:
            return None
        try:
            return _dump({str(p): [str(e["revision"]), _parse_iso(e["modified"])]
                          for p, e in dict(data.get("feeds", {})).items()}, "feeds")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("%s: unusable feed entries (%s): Last-Modified starts again", path, exc)
            return None
    return convert


def _legacy_path(state_dir: Path | None) -> Path | None:
    return None if state_dir is None else state_dir / LEGACY_FILE


# -- stamping a build (the edge) -------------------------------------------------------------

def stamp_events(store: Store | None, wanted: Mapping[str, str], now: datetime,
                 state_dir: Path | None = None) -> dict[str, Stamp]:
    """The stamp of every UID in `wanted` (UID → content hash), recording changes at `now`
    in one transaction of the store (None: nothing recorded, every UID new at `now`)."""
    moment = _epoch(now)
    result: dict[str, list[Any]] = {}

    def change(current: bytes | None) -> bytes | None:
        entries = _load(current, "events")
        changed = merge_events(entries, wanted, moment)
        result.clear()
        result.update(entries)
        return _dump(entries, "events") if changed else None

    if store is None:
        change(None)
    else:
        legacy = _legacy_path(state_dir)
        update_imported(store, EVENTS_DOCUMENT, change, legacy,
                        None if legacy is None else _legacy_events(legacy), rename=False)
    return {uid: _stamp(result[uid]) for uid in wanted}


_feeds_parsed: tuple[bytes, dict[str, list[Any]]] | None = None


def _load_feeds(data: bytes | None) -> dict[str, list[Any]]:
    """The feeds document parsed; a process rebuilding over its own last write (the
    daemon's daily rebuild and reloads) reuses its parse (~33,550 entries nationally)."""
    global _feeds_parsed
    cached = _feeds_parsed
    if data is not None and cached is not None and cached[0] == data:
        return dict(cached[1])       # merging replaces entries, never changes them
    entries = _load(data, "feeds")
    if data is not None:
        _feeds_parsed = (data, dict(entries))
    return entries


def stamp_feeds(store: Store | None, wanted: Mapping[str, str], now: datetime,
                state_dir: Path | None = None) -> dict[str, datetime]:
    """When each feed in `wanted` (path → content hash) last changed, recording changes at
    `now` in one transaction (and forgetting feeds no longer built)."""
    moment = _epoch(now)
    result: list[dict[str, list[Any]]] = []

    def change(current: bytes | None) -> bytes | None:
        global _feeds_parsed
        entries = _load_feeds(current)
        result[:] = [entries]
        if not merge_feeds(entries, wanted, moment):
            return None
        data = _dump(entries, "feeds")
        _feeds_parsed = (data, dict(entries))
        return data

    if store is None:
        change(None)
    else:
        legacy = _legacy_path(state_dir)
        update_imported(store, FEEDS_DOCUMENT, change, legacy,
                        None if legacy is None else _legacy_feeds(legacy), rename=False)
        # Both documents now exist: the old file has served its purpose.
        if legacy is not None and legacy.exists():
            retire_legacy(legacy)
    entries = result[0]
    moments: dict[int, datetime] = {}
    stamps = {}
    for path in wanted:
        epoch = entries[path][1]
        stamp = moments.get(epoch)
        if stamp is None:
            stamp = moments[epoch] = _moment(int(epoch))
        stamps[path] = stamp
    return stamps


class EventRevisions:
    """The recorded UID revisions, read only (email attachments render with them)."""

    def __init__(self, entries: Mapping[str, list[Any]]) -> None:
        self.entries = entries

    @classmethod
    def read(cls, store: Store | None, state_dir: Path | None = None) -> EventRevisions:
        """The store's revisions; before the first build after an upgrade, the old file's."""
        if store is None:
            return cls({})
        data = store.read_document(EVENTS_DOCUMENT)
        if data is not None:
            return cls(_load_cached(data))
        legacy = _legacy_path(state_dir)
        raw = read_legacy(legacy)
        if raw is None or legacy is None:
            return cls({})
        converted = _legacy_events(legacy)(raw)
        return cls({} if converted is None else _load(converted, "events"))

    def peek(self, uid: str, revision: str) -> Stamp:
        """The stamp a build would give `uid` with content hash `revision`, recording
        nothing (an unknown UID: `UNKNOWN_STAMP`)."""
        entry = self.entries.get(uid)
        if entry is None:
            return Stamp(0, UNKNOWN_STAMP, UNKNOWN_STAMP)
        if entry[0] != revision:
            return Stamp(int(entry[1]) + 1, _moment(int(entry[2])),
                         _moment(int(entry[3]) + 1))
        return _stamp(entry)


_parsed: tuple[bytes, dict[str, list[Any]]] | None = None


def _load_cached(data: bytes) -> dict[str, list[Any]]:
    """The events document parsed, reused while its bytes stay the same (one per email)."""
    global _parsed
    cached = _parsed
    if cached is not None and cached[0] == data:
        return cached[1]
    entries = _load(data, "events")
    _parsed = (data, entries)
    return entries

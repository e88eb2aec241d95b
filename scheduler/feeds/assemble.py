"""Building every feed of a deployment: render each VEVENT once, assemble many feeds.

A national deployment has ~35,000 units sharing a few dozen events, and most units share
the same set of events with many others. So each occurrence's VEVENT is rendered once,
units with the same events share one pre-joined body, and a unit's feed is only its own
header plus that shared body. Feed bytes are joined (and hashed for the ETag) on first
use and kept in a bounded cache, so the daemon's memory does not grow with the units.
"""

from __future__ import annotations

import gzip
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from hashlib import sha256
from pathlib import Path

from scheduler import vi
from scheduler.clock import SystemClock
from scheduler.config import Config
from scheduler.feeds.render import (
    CALENDAR_FOOTER,
    CALENDAR_TITLE,
    CalendarHeader,
    RenderContext,
    content_revision,
    event_content,
    stamped_event,
    uid_for,
)
from scheduler.feeds.revisions import stamp_events, stamp_feeds
from scheduler.feeds.single import cached_vtimezone
from scheduler.i18n import _
from scheduler.links import unit_feed_path
from scheduler.model import KINDS, Occurrence, Unit
from scheduler.occurrences import occurrences
from scheduler.store import Store
from scheduler.store.documents import documents_at

MAX_FEED_BYTES = 800_000  # FEEDS.md: Google drops feeds near 1 MB
UNIT_CACHE_SIZE = 1024  # assembled unit feeds kept in memory (~40 KB each nationally)
UPCOMING_DAYS = 60
UPCOMING_LIMIT = 30


class Feed:
    """One feed's bytes, strong ETag and Last-Modified; bytes are joined on first use."""

    __slots__ = ("_body", "_etag", "_gzip", "_parts", "last_modified", "name", "path")

    def __init__(self, path: str, name: str, parts: Sequence[bytes],
                 last_modified: datetime) -> None:
        self.path = path
        self.name = name
        self.last_modified = last_modified
        self._parts: Sequence[bytes] | None = parts
        self._body: bytes | None = None
        self._etag: str | None = None
        self._gzip: bytes | None = None

    @property
    def body(self) -> bytes:
        if self._body is None:
            assert self._parts is not None
            self._body = b"".join(self._parts)
            self._parts = None
        return self._body

    @property
    def etag(self) -> str:
        """A strong ETag: the hash of the bytes, quoted."""
        if self._etag is None:
            self._etag = '"' + sha256(self.body).hexdigest()[:32] + '"'
        return self._etag

    def gzipped(self) -> bytes:
        """The body gzip-compressed, deterministic (no timestamp in the header)."""
        if self._gzip is None:
            self._gzip = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzip


@dataclass(frozen=True)
class UnitEntry:
    """A unit as the index page lists it."""

    unit: Unit
    path: str  # below /feeds/
    events: int


class _UnitFeeds(Mapping[str, Feed]):
    """Unit feeds keyed by path, assembled on access, the most recent ones cached."""

    def __init__(self, build: dict[str, tuple[str, int]], assemble: _Assembler) -> None:
        self._paths = build  # path → (unit id, body group)
        self._assemble = assemble
        self._cache: OrderedDict[str, Feed] = OrderedDict()

    def __getitem__(self, path: str) -> Feed:
        feed = self._cache.get(path)
        if feed is not None:
            self._cache.move_to_end(path)
            return feed
        unit_id, group = self._paths[path]
        feed = self._assemble.unit_feed(path, unit_id, group)
        self._cache[path] = feed
        if len(self._cache) > UNIT_CACHE_SIZE:
            self._cache.popitem(last=False)
        return feed

    def uncached(self, path: str) -> Feed:
        unit_id, group = self._paths[path]
        return self._assemble.unit_feed(path, unit_id, group)

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, path: object) -> bool:
        return path in self._paths


class _AllFeeds(Mapping[str, Feed]):
    """`all.ics`, the kind feeds and the unit feeds behind one mapping."""

    def __init__(self, fixed: dict[str, Feed], units: _UnitFeeds) -> None:
        self._fixed = fixed
        self._units = units

    def __getitem__(self, path: str) -> Feed:
        feed = self._fixed.get(path)
        return feed if feed is not None else self._units[path]

    def __iter__(self) -> Iterator[str]:
        yield from self._fixed
        yield from self._units

    def __len__(self) -> int:
        return len(self._fixed) + len(self._units)

    def __contains__(self, path: object) -> bool:
        return path in self._fixed or path in self._units

    def uncached(self, path: str) -> Feed:
        """A feed without keeping it in the cache (for writing every feed once)."""
        feed = self._fixed.get(path)
        return feed if feed is not None else self._units.uncached(path)


@dataclass
class _Assembler:
    header: CalendarHeader
    bodies: list[bytes]  # body group → the joined VEVENTs of its units
    modified: dict[str, datetime]  # feed path → Last-Modified
    names: dict[str, str]

    def unit_feed(self, path: str, unit_id: str, group: int) -> Feed:
        name = self.names[unit_id]
        header = self.header.render(unit_calendar_name(name))
        return Feed(path, name, (header, self.bodies[group], CALENDAR_FOOTER),
                    self.modified[path])


@dataclass(frozen=True)
class FeedSet:
    """Every feed of one build, and what the index page shows."""

    feeds: _AllFeeds
    config: Config
    built_on: date
    window: tuple[date, date]
    occurrences: tuple[Occurrence, ...]
    units: tuple[UnitEntry, ...]
    kinds: tuple[tuple[str, str], ...]  # (kind, feed path)
    private: bool = False
    revoked_tokens: frozenset[str] = frozenset()
    oversized: tuple[str, ...] = ()
    _unit_paths: dict[str, str] = field(default_factory=dict, repr=False)

    def unit_path(self, unit_id: str) -> str:
        """The path below /feeds/ of a unit's feed (with its token if feeds are private)."""
        return self._unit_paths[unit_id]

    def upcoming(self, today: date, days: int = UPCOMING_DAYS,
                 limit: int = UPCOMING_LIMIT) -> list[Occurrence]:
        """Occurrences not yet over, starting within `days` of `today`."""
        horizon = today + timedelta(days=days)
        return [o for o in self.occurrences if o.end >= today and o.start <= horizon][:limit]

    def is_revoked(self, path: str) -> bool:
        """Whether `path` below /feeds/ is under a rotated (or removed unit's) token."""
        return path.split("/", 1)[0] in self.revoked_tokens

    def uncached(self, path: str) -> Feed:
        return self.feeds.uncached(path)


def feed_window(config: Config, today: date) -> tuple[date, date]:
    """From 1 January `past_years` ago to 31 December `future_years` on."""
    return (date(today.year - config.feeds.past_years, 1, 1),
            date(today.year + config.feeds.future_years, 12, 31))


def unit_calendar_name(unit_name: str) -> str:
    return f"{CALENDAR_TITLE} – {unit_name}"


def all_calendar_name() -> str:
    return f"{CALENDAR_TITLE} – tất cả sự kiện"


def kind_calendar_name(kind: str) -> str:
    return f"{CALENDAR_TITLE} – {vi.KIND_LABELS[kind]}"


def build_feedset(config: Config, today: date, store: Store | Path | None,
                  now: datetime | None = None) -> FeedSet:
    """Every feed for `config` on `today`, stamped by (and recorded in) `store`'s feed
    revisions; a Path is a state dir's SQLite store; None records nothing.

    `now` is when a new or changed event or feed is recorded as changed (its
    LAST-MODIFIED). It defaults to the system clock when there is a store to record
    into — a stamp earlier than the real change could make an If-Modified-Since client
    miss it — and to midnight of `today` without one, so stateless builds stay identical.
    """
    state_dir: Path | None = config.state_dir
    if isinstance(store, Path):
        state_dir, store = store, documents_at(store)
    elif store is None:
        state_dir = None
    start, end = feed_window(config, today)
    if now is None:
        now = (SystemClock(config.timezone).now() if store is not None
               else datetime.combine(today, time(0), config.timezone))
    moment = now.replace(microsecond=0)
    ctx = RenderContext.from_config(config)
    headers = CalendarHeader(ctx, cached_vtimezone(config.timezone_name, start, end))
    occs = occurrences(config.events, start, end, config.groups())

    # 1. Hash every event; stamp them all in one transaction; render with those stamps.
    contents = [event_content(ctx, occ) for occ in occs]
    revisions = [content_revision(content) for content in contents]
    uids = [uid_for(occ) for occ in occs]
    stamps = stamp_events(store, dict(zip(uids, revisions, strict=True)), moment, state_dir)
    rendered = [stamped_event(uid, stamps[uid], content)
                for uid, content in zip(uids, contents, strict=True)]
    digests = [f"{uid}={revision}".encode()
               for uid, revision in zip(uids, revisions, strict=True)]

    def body_digest(indices: Sequence[int]) -> bytes:
        return sha256(b"\n".join(digests[i] for i in indices)).digest()

    # 2. Hash every feed (from the events' hashes, not their stamps).
    feed_revisions: dict[str, str] = {}
    fixed_parts: dict[str, tuple[str, tuple[bytes, ...]]] = {}
    every = list(range(len(occs)))
    header = headers.render(all_calendar_name())
    fixed_parts["all.ics"] = (all_calendar_name(), (header, *rendered, CALENDAR_FOOTER))
    feed_revisions["all.ics"] = sha256(header + body_digest(every)).hexdigest()[:16]
    kinds: list[tuple[str, str]] = []
    for kind in KINDS:
        path = f"kinds/{kind}.ics"
        indices = [i for i, o in enumerate(occs) if o.event.kind == kind]
        header = headers.render(kind_calendar_name(kind))
        fixed_parts[path] = (vi.KIND_LABELS[kind],
                             (header, *(rendered[i] for i in indices), CALENDAR_FOOTER))
        feed_revisions[path] = sha256(header + body_digest(indices)).hexdigest()[:16]
        kinds.append((kind, path))

    # Units with the same occurrences share one joined body ("body group").
    per_unit = _occurrences_per_unit(config, occs)
    group_of: dict[tuple[int, ...], int] = {}
    bodies: list[bytes] = []
    group_digest: list[bytes] = []
    revoked: frozenset[str] = frozenset()
    tokens: Mapping[str, str] = {}
    if config.web.private_feeds:
        tokens, revoked = _tokens(config, store, state_dir)
    paths: dict[str, tuple[str, int]] = {}
    unit_paths: dict[str, str] = {}
    entries: list[UnitEntry] = []
    oversized: list[str] = []
    names = {u.id: u.name for u in config.units}
    for unit in config.units:
        own = per_unit[unit.id]
        group = group_of.get(own)
        if group is None:
            group = group_of[own] = len(bodies)
            bodies.append(b"".join(rendered[i] for i in own))
            group_digest.append(body_digest(own))
        path = unit_feed_path(unit.id, tokens.get(unit.id)).removeprefix("/feeds/")
        header = headers.render(unit_calendar_name(unit.name))
        feed_revisions[path] = sha256(header + group_digest[group]).hexdigest()[:16]
        paths[path] = (unit.id, group)
        unit_paths[unit.id] = path
        entries.append(UnitEntry(unit, path, len(own)))
        if len(header) + len(bodies[group]) > MAX_FEED_BYTES:
            oversized.append(path)

    # 3. Stamp every feed in one transaction.
    modified = stamp_feeds(store, feed_revisions, moment, state_dir)
    fixed = {path: Feed(path, name, parts, modified[path])
             for path, (name, parts) in fixed_parts.items()}
    oversized += [p for p, f in fixed.items() if len(f.body) > MAX_FEED_BYTES]
    assembler = _Assembler(headers, bodies, modified, names)
    return FeedSet(
        feeds=_AllFeeds(fixed, _UnitFeeds(paths, assembler)), config=config, built_on=today,
        window=(start, end), occurrences=tuple(occs), units=tuple(entries),
        kinds=tuple(kinds), private=config.web.private_feeds, revoked_tokens=revoked,
        oversized=tuple(oversized), _unit_paths=unit_paths,
    )


def _occurrences_per_unit(config: Config, occs: Sequence[Occurrence]
                          ) -> dict[str, tuple[int, ...]]:
    """Unit id → the indices (ascending) of the occurrences it gets.

    The occurrences of one event share one `units` tuple, so units are visited once per
    distinct tuple (a few dozen), not once per occurrence, and units that belong to the
    same tuples share one index tuple."""
    tuples: dict[int, tuple[tuple[str, ...], list[int]]] = {}
    for index, occ in enumerate(occs):
        tuples.setdefault(id(occ.units), (occ.units, []))[1].append(index)
    member_of: dict[str, list[int]] = {u.id: [] for u in config.units}
    lists = list(tuples.values())
    for number, (units, _indices) in enumerate(lists):
        for unit_id in units:
            member_of[unit_id].append(number)
    shared: dict[tuple[int, ...], tuple[int, ...]] = {}
    per_unit: dict[str, tuple[int, ...]] = {}
    for unit_id, numbers in member_of.items():
        key = tuple(numbers)
        own = shared.get(key)
        if own is None:
            own = shared[key] = tuple(sorted(i for n in key for i in lists[n][1]))
        per_unit[unit_id] = own
    return per_unit


def _tokens(config: Config, store: Store | None,
            state_dir: Path | None) -> tuple[Mapping[str, str], frozenset[str]]:
    from scheduler.errors import LichnhacError
    from scheduler.tokens import sync_tokens

    if store is None:
        raise LichnhacError(_("private feeds need a state dir to keep their tokens in"))
    tokens = sync_tokens(store, state_dir, [u.id for u in config.units])
    return tokens.by_unit, tokens.revoked

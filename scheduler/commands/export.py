"""`lichnhac export --out DIR`: every feed and the index page as static files.

The bytes are the ones the web server serves (same FeedSet), at the same paths:
`DIR/feeds/all.ics`, `DIR/feeds/units/<id>.ics` (or `DIR/feeds/<token>/units/<id>.ics`),
`DIR/feeds/kinds/<kind>.ics`, `DIR/index.html` and each unit's subscribe page
`DIR/subscribe/units/<id>` (or `DIR/subscribe/<token>/units/<id>`; no extension, the URL
the emails link to); feeds get their Last-Modified as mtime.

Generations: `DIR` is a symlink to a complete tree, `.DIR.generations/<n>` beside it.
An export writes a new generation (a file whose bytes and mtime did not change is a hard
link to the current one's, so its inode, mtime and a web server's ETag stay), makes the
whole filesystem durable with one syncfs, then points `DIR` at it with one atomic
rename and fsyncs the parent. Durability is paid once, not once per file, and a reader
only ever sees a whole generation: the previous one until the rename, the new one after.
The previous generation is kept until the next export (a request that resolved the old
path a moment before the switch still finds its file); older ones and any left by an
interrupted export are deleted. A plain directory `DIR` from an earlier version becomes
the first previous generation: it is swapped for the symlink atomically (renameat2
RENAME_EXCHANGE; where the filesystem cannot, two renames with a moment without `DIR`).
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from scheduler.commands import clock_for, load
from scheduler.errors import LichnhacError
from scheduler.feeds import FeedSet, build_feedset
from scheduler.feeds.index import render_index
from scheduler.files import exchange, fsync_path, sync_filesystem
from scheduler.i18n import _
from scheduler.pages.subscribe import render_subscribe
from scheduler.store.documents import documents

# Writes and reads of the previous generation release the GIL: threads keep the disk busy
# while the main thread assembles the next feeds. Work goes to them in chunks: one future
# per file would cost more main-thread time than assembling the feed.
WRITER_THREADS = 4
CHUNK = 128
MAX_PENDING_CHUNKS = 2 * WRITER_THREADS

FILE_MODE = 0o644  # exported files are read by a web server running as another user
DIR_MODE = 0o755
LOCK = ".lock"

# (path relative to the generation, bytes, mtime; None: the time it is written, and an
# unchanged file is reused whatever its mtime)
Item = tuple[str, bytes, datetime | None]


def generations_dir(out: Path) -> Path:
    """Where the generations `out` points at live: `.<name>.generations` beside it."""
    return out.parent / f".{out.name}.generations"


def _same(previous: str, data: bytes, stamp: float | None) -> bool:
    """Whether `previous` holds exactly `data` with mtime `stamp` (then it is reused)."""
    try:
        info = os.stat(previous)
    except FileNotFoundError:
        return False
    if info.st_size != len(data) or (stamp is not None and info.st_mtime != stamp):
        return False
    with open(previous, "rb") as handle:
        return handle.read() == data


def _write_chunk(generation: str, previous: str | None, items: list[Item]) -> int:
    """Write (or hard-link from `previous`) each item below `generation`; count linked."""
    linked = 0
    for relative, data, mtime in items:
        target = os.path.join(generation, relative)
        stamp = None if mtime is None else mtime.timestamp()
        if previous is not None:
            old = os.path.join(previous, relative)
            if _same(old, data, stamp):
                try:
                    os.link(old, target)
                    linked += 1
                    continue
                except OSError as exc:  # another filesystem, or links not supported
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                        raise
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if stamp is not None:
            os.utime(target, (stamp, stamp))
    return linked


def _items(feedset: FeedSet, index: bytes) -> Iterator[Item]:
    for path in feedset.feeds:
        feed = feedset.uncached(path)
        yield os.path.join("feeds", path), feed.body, feed.last_modified
    for entry in feedset.units:
        # The page the reminder emails link to ("Hướng dẫn"): `/subscribe/<feed path
        # without .ics>`, the daemon's bytes; no extension, so the URL is the daemon's too.
        page = render_subscribe(feedset.config, entry, feedset.private)
        yield os.path.join("subscribe", entry.path.removesuffix(".ics")), page, None
    yield "index.html", index, None


def _write_generation(generation: str, previous: str | None, feedset: FeedSet,
                      index: bytes) -> tuple[int, int, int]:
    """Fill the new generation; (files, bytes, files linked from the previous one)."""
    folders = {os.path.dirname(os.path.join("feeds", p)) for p in feedset.feeds}
    folders.update(os.path.dirname(os.path.join("subscribe", e.path)) for e in feedset.units)
    for path in sorted(folders):
        os.makedirs(os.path.join(generation, path), DIR_MODE, exist_ok=True)
    files = size = linked = 0
    pending: list[Future[int]] = []
    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
        try:
            chunk: list[Item] = []
            for item in _items(feedset, index):
                chunk.append(item)
                files += 1
                size += len(item[1])
                if len(chunk) == CHUNK:
                    pending.append(pool.submit(_write_chunk, generation, previous, chunk))
                    chunk = []
                    if len(pending) >= MAX_PENDING_CHUNKS:
                        linked += pending.pop(0).result()
            pending.append(pool.submit(_write_chunk, generation, previous, chunk))
            for done in pending:
                linked += done.result()
        finally:
            for future in pending:
                future.cancel()
    return files, size, linked


def _current(out: Path) -> str | None:
    """The tree `out` serves now: its symlink's target, or `out` itself when it is a plain
    directory (an export of an earlier version); None when there is none."""
    if out.is_symlink():
        target = os.path.realpath(out)
        return target if os.path.isdir(target) else None
    return str(out) if out.is_dir() else None


def _next_name(generations: Path) -> str:
    numbers = [int(p.name) for p in generations.iterdir() if p.name.isdigit()]
    return f"{max(numbers, default=0) + 1:06d}"


@contextmanager
def _locked(generations: Path) -> Iterator[None]:
    """One export at a time per `DIR` (two cron runs must not switch each other's trees)."""
    fd = os.open(generations / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _switch(out: Path, generations: Path, name: str) -> str | None:
    """Point `out` at generation `name` atomically; the name (in `generations`) of the
    tree it served before, if that now lives there."""
    link = out.parent / f".{out.name}.switch-{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(os.path.join(generations.name, name), link)
    if out.is_symlink() or not out.exists():
        os.replace(link, out)
        return None
    # A plain directory from an earlier version: swap it for the symlink, then keep it as
    # the previous generation until the next export.
    migrated = f"plain-{name}"
    if exchange(str(link), str(out)):
        os.rename(link, generations / migrated)
    else:
        os.rename(out, generations / migrated)
        os.replace(link, out)
    return migrated


def _remove_leftovers(out: Path) -> None:
    """Switch links (or a swapped-out plain directory) an interrupted export left."""
    for entry in out.parent.glob(f".{out.name}.switch-*"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def export_feeds(feedset: FeedSet, out: Path, index: bytes) -> tuple[int, int]:
    """Write every feed and the index as a new generation and switch `out` to it; return
    (files, bytes) exported. See the module docstring for the guarantees."""
    out = Path(os.path.abspath(out))
    generations = generations_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    generations.mkdir(mode=DIR_MODE, exist_ok=True)
    with _locked(generations):
        _remove_leftovers(out)
        previous = _current(out)
        name = _next_name(generations)
        generation = generations / name
        generation.mkdir(mode=DIR_MODE)
        try:
            files, size, _ = _write_generation(str(generation), previous, feedset, index)
            sync_filesystem(str(generation))  # every file and directory of it, at once
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        migrated = _switch(out, generations, name)
        fsync_path(str(out.parent), os.O_RDONLY | os.O_DIRECTORY)
        keep = {name, LOCK, migrated or os.path.basename(previous or "")}
        for entry in generations.iterdir():
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
    return files, size


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 100_000 else f"{count / 1000:.1f} KB"


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = load(args)
    clock = clock_for(config)
    now = clock.now()
    feedset = build_feedset(config, now.date(), documents(config), now=now)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise LichnhacError(_("--out {path}: not a directory").format(path=out))
    try:
        index = render_index(config, feedset, now.date(), subscribe_pages=True)
        files, size = export_feeds(feedset, out, index)
    except OSError as exc:
        raise LichnhacError(_("cannot write to {path}: {reason}")
                            .format(path=out, reason=exc.strerror or exc)) from None
    seconds = time.perf_counter() - started
    print(_("Exported {files} files ({units} unit feeds, {shared} shared feeds, {units} "
            "subscribe pages, index.html; {size}) to {path} in {seconds} s")
          .format(files=files, units=len(feedset.units), shared=len(feedset.kinds) + 1,
                  size=_size(size), path=out, seconds=f"{seconds:.1f}"))
    for path in feedset.oversized:
        print(_("warning: feed {path} is larger than 800 KB: some calendar apps will ignore "
                "it").format(path=path))
    return 0

"""`lichnhac export --out DIR`: every feed and the index page as static files.

The bytes are the ones the web server serves (same FeedSet), at the same paths:
`DIR/feeds/all.ics`, `DIR/feeds/units/<id>.ics` (or `DIR/feeds/<token>/units/<id>.ics`),
`DIR/feeds/kinds/<kind>.ics` and `DIR/index.html`. Each file is written to a temp file,
fsynced and renamed over the old one, so a web server reading DIR never sees a partial
feed; files get the feed's Last-Modified as their mtime. Feeds left over from an earlier
export (a removed unit, a rotated token) are deleted.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from scheduler.commands import clock_for, load
from scheduler.errors import LichnhacError
from scheduler.feeds import FeedSet, build_feedset
from scheduler.feeds.index import render_index
from scheduler.files import fsync_path, write_atomic, write_temp

# File writes and fsyncs release the GIL: threads keep the disk busy while the main thread
# assembles the next feeds. Work goes to them in chunks: one future per file would cost
# more main-thread time than assembling the feed.
WRITER_THREADS = 8
CHUNK = 128
MAX_PENDING_CHUNKS = 2 * WRITER_THREADS

Staged = tuple[str, str]  # (temp file, target)
FILE_MODE = 0o644  # exported files are read by a web server running as another user


def _stage(path: str, data: bytes, mtime: datetime) -> str | None:
    """A temp file (synced later) for `path`, or None when `path` already holds `data`.

    Re-exporting unchanged data then costs a read per feed instead of a write, an fsync
    and a rename, and a web server's caches see no change.
    """
    try:
        info = os.stat(path)
        if info.st_size == len(data):
            with open(path, "rb") as handle:
                same = handle.read() == data
            if same:
                stamp = mtime.timestamp()
                if info.st_mtime != stamp:
                    os.utime(path, (stamp, stamp))
                return None
    except FileNotFoundError:
        pass
    return write_temp(path, data, FILE_MODE, mtime)


def _stage_chunk(items: list[tuple[str, bytes, datetime]]) -> list[Staged]:
    staged: list[Staged] = []
    try:
        for target, data, mtime in items:
            temp = _stage(target, data, mtime)
            if temp is not None:
                staged.append((temp, target))
    except BaseException:
        _discard(staged)
        raise
    return staged


def _fsync_chunk(staged: list[Staged]) -> None:
    for temp, _ in staged:
        fsync_path(temp)


def _rename_chunk(staged: list[Staged]) -> None:
    for temp, target in staged:
        os.replace(temp, target)


def _discard(staged: Iterable[Staged]) -> None:
    for temp, _ in staged:
        Path(temp).unlink(missing_ok=True)


def _chunks(items: list[Staged], size: int) -> Iterable[list[Staged]]:
    return (items[i:i + size] for i in range(0, len(items), size))


def export_feeds(feedset: FeedSet, out: Path, index: bytes) -> tuple[int, int]:
    """Write every feed and the index below `out`; return (files, bytes) exported.

    Three passes rather than fsync-per-file: write every temp file, fsync them all (in
    threads, so the disk sees many at once), then rename each over its target. Each
    feed is still replaced atomically and only once its bytes are on disk; one fsync
    right after each write would cost a disk round trip per unit.
    """
    feeds_dir = out / "feeds"
    paths = list(feedset.feeds)
    targets = [os.path.join(feeds_dir, p) for p in paths]
    directories = {os.path.dirname(t) for t in targets}
    for directory in sorted(directories):
        os.makedirs(directory, exist_ok=True)
    written = 0
    staged: list[Staged] = []
    pending: list[Future[list[Staged]]] = []
    try:
        with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
            for start in range(0, len(paths), CHUNK):
                items = []
                for path, target in zip(paths[start:start + CHUNK],
                                        targets[start:start + CHUNK], strict=True):
                    feed = feedset.uncached(path)
                    items.append((target, feed.body, feed.last_modified))
                    written += len(feed.body)
                pending.append(pool.submit(_stage_chunk, items))
                if len(pending) >= MAX_PENDING_CHUNKS:
                    staged += pending.pop(0).result()
            while pending:
                staged += pending.pop(0).result()
            for done in [pool.submit(_fsync_chunk, c) for c in _chunks(staged, 4 * CHUNK)]:
                done.result()
            for done in [pool.submit(_rename_chunk, c) for c in _chunks(staged, 4 * CHUNK)]:
                done.result()
        staged = []
    finally:  # after a failure, leave no temp file behind (renamed ones are gone already)
        _discard(staged)
        for chunk in pending:
            if not chunk.cancelled() and chunk.exception() is None:
                _discard(chunk.result())
    write_atomic(out / "index.html", index, FILE_MODE)
    written += len(index)
    _remove_stale(str(feeds_dir), set(targets))
    for directory in directories | {str(out)}:
        fsync_path(directory, os.O_RDONLY | os.O_DIRECTORY)
    return len(paths) + 1, written


def _remove_stale(feeds_dir: str, keep: set[str]) -> None:
    """Delete .ics files (and then-empty dirs) a previous export left that no feed has now."""
    for folder, _, files in os.walk(feeds_dir, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".ics") and path not in keep:
                os.unlink(path)
        if folder != feeds_dir and not os.listdir(folder):
            os.rmdir(folder)


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 100_000 else f"{count / 1000:.1f} KB"


def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = load(args)
    clock = clock_for(config)
    now = clock.now()
    feedset = build_feedset(config, now.date(), config.state_dir, now=now)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise LichnhacError(f"--out {out}: không phải là thư mục")
    try:
        out.mkdir(parents=True, exist_ok=True)
        index = render_index(config, feedset, now.date())
        files, size = export_feeds(feedset, out, index)
    except OSError as exc:
        raise LichnhacError(f"không ghi được vào {out}: {exc.strerror or exc}") from None
    seconds = time.perf_counter() - started
    print(f"Đã xuất {files} tệp ({len(feedset.units)} lịch đơn vị, "
          f"{len(feedset.kinds) + 1} lịch chung, index.html; {_size(size)}) "
          f"vào {out} trong {seconds:.1f} s")
    for path in feedset.oversized:
        print(f"cảnh báo: lịch {path} lớn hơn 800 KB: một số ứng dụng lịch sẽ bỏ qua nó")
    return 0

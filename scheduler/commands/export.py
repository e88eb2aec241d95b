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
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from scheduler.commands import clock_for, load
from scheduler.errors import LichnhacError
from scheduler.feeds import FeedSet, build_feedset
from scheduler.feeds.index import render_index

# File writes and fsyncs release the GIL: a few threads keep the disk busy while the main
# thread assembles the next feeds.
WRITER_THREADS = 16
MAX_PENDING = 256


def _write_temp(path: Path, data: bytes, mtime: datetime | None) -> str:
    """`data` in a temp file beside `path` (not yet synced), with its final mode and mtime."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        if mtime is not None:
            stamp = mtime.timestamp()
            os.utime(temp, (stamp, stamp))
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return temp


def _stage(path: Path, data: bytes, mtime: datetime) -> str | None:
    """A synced-later temp file for `path`, or None when `path` already holds `data`.

    Re-exporting unchanged data then costs a read per feed instead of a write, an fsync
    and a rename, and a web server's caches see no change.
    """
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            stamp = mtime.timestamp()
            if path.stat().st_mtime != stamp:
                os.utime(path, (stamp, stamp))
            return None
    except FileNotFoundError:
        pass
    return _write_temp(path, data, mtime)


def _fsync_path(path: str, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes, mtime: datetime | None = None) -> None:
    """Atomically replace `path` with `data`: temp file in the same dir, fsync, rename."""
    temp = _write_temp(path, data, mtime)
    try:
        _fsync_path(temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def export_feeds(feedset: FeedSet, out: Path, index: bytes) -> tuple[int, int]:
    """Write every feed and the index below `out`; return (files, bytes) exported.

    Three passes rather than fsync-per-file: write every temp file, fsync them all (in
    threads, so the disk sees many at once), then rename each over its target. Each
    feed is still replaced atomically and only once its bytes are on disk; one fsync
    right after each write would cost a disk round trip per unit.
    """
    feeds_dir = out / "feeds"
    paths = list(feedset.feeds)
    directories = {(feeds_dir / p).parent for p in paths}
    for directory in sorted(directories):
        directory.mkdir(parents=True, exist_ok=True)
    written = 0
    temps: list[tuple[str, Path]] = []
    pending: list[tuple[Future[str | None], Path]] = []
    try:
        with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
            for path in paths:
                feed = feedset.uncached(path)
                body = feed.body
                written += len(body)
                target = feeds_dir / path
                pending.append((pool.submit(_stage, target, body, feed.last_modified),
                                target))
                if len(pending) >= MAX_PENDING:
                    temps += _drain(pending)
            temps += _drain(pending)
            for synced in [pool.submit(_fsync_path, temp) for temp, _ in temps]:
                synced.result()
            for done in [pool.submit(os.replace, temp, target) for temp, target in temps]:
                done.result()
        temps = []
    finally:  # after a failure, leave no temp file behind (renamed ones are gone already)
        leftovers = [temp for temp, _ in temps]
        for staged, _ in pending:
            if not staged.cancelled() and staged.exception() is None and staged.result():
                leftovers.append(str(staged.result()))
        for temp in leftovers:
            Path(temp).unlink(missing_ok=True)
    write_file(out / "index.html", index)
    written += len(index)
    _remove_stale(feeds_dir, {feeds_dir / p for p in paths})
    for directory in directories | {out}:
        _fsync_path(str(directory), os.O_RDONLY | os.O_DIRECTORY)
    return len(paths) + 1, written


def _drain(pending: list[tuple[Future[str | None], Path]]) -> list[tuple[str, Path]]:
    staged = [(future.result(), target) for future, target in pending]
    pending.clear()
    return [(temp, target) for temp, target in staged if temp is not None]


def _remove_stale(feeds_dir: Path, keep: set[Path]) -> None:
    """Delete .ics files (and then-empty dirs) a previous export left that no feed has now."""
    for path in sorted(feeds_dir.rglob("*.ics")):
        if path not in keep:
            path.unlink()
    for directory in sorted(_dirs(feeds_dir), key=lambda d: len(d.parts), reverse=True):
        if directory != feeds_dir and not any(directory.iterdir()):
            directory.rmdir()


def _dirs(root: Path) -> Iterable[Path]:
    return (p for p in root.rglob("*") if p.is_dir())


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

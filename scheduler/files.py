"""Atomic file writes: readers see the old file or the new one, never a part of either.

Used for files others read while we write (`write_atomic`), and the helpers `export`
builds its generations with (`sync_filesystem`, `exchange`). (Feed revisions, tokens and
the signing secret live in the store now: `scheduler.store.documents`.)
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import tempfile
from datetime import datetime
from pathlib import Path


def write_temp(path: str, data: bytes, mode: int | None = None,
               mtime: datetime | None = None) -> str:
    """`data` in a new temp file beside `path`, not yet synced; returns the temp's path.

    The temp file is private (0600) unless `mode` says otherwise; `mtime` sets its
    modification time (kept by the rename).
    """
    folder, name = os.path.split(path)
    fd, temp = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(temp, mode)
        if mtime is not None:
            stamp = mtime.timestamp()
            os.utime(temp, (stamp, stamp))
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return temp


def fsync_path(path: str, flags: int = os.O_RDONLY) -> None:
    """fsync a file (or, with O_DIRECTORY, a directory) by path."""
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int | None = None,
                 mtime: datetime | None = None) -> None:
    """Replace `path` with `data`: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = write_temp(str(path), data, mode, mtime)
    try:
        fsync_path(temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def sync_filesystem(path: str) -> None:
    """Flush every dirty page of the filesystem holding `path` to disk (syncfs(2)).

    One call makes a whole directory tree written without fsyncs durable; Linux reports
    writeback errors of that filesystem here. Elsewhere it falls back to sync(2).
    """
    syncfs = getattr(_libc(), "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno), path)
    finally:
        os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(first: str, second: str) -> bool:
    """Swap two existing paths atomically (renameat2 RENAME_EXCHANGE): each name then
    points at what the other did, with no moment when either is missing. False when the
    kernel, the C library or the filesystem cannot do it (nothing changed then)."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                 _RENAME_EXCHANGE) == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (_errno.EINVAL, _errno.ENOSYS, _errno.EOPNOTSUPP):
        return False
    raise OSError(errno, os.strerror(errno), first, None, second)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)

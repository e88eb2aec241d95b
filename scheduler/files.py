"""Atomic file writes: readers see the old file or the new one, never a part of either.

Used for everything others read while we write: feeds and the index page (export), the
feed revisions and the private-feed tokens in the state dir.
"""

from __future__ import annotations

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

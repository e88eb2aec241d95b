"""The store's named documents as the feeds, tokens and follow-up links use them.

`documents(config)` is the store a process reads and writes its documents through: the
one the daemon registered (`serving`), else one opened for the process (opening a store
changes no claim: only the daemon recovers its own, at start) and kept open until exit.
`documents_at(state_dir)` is the SQLite store of a bare state dir (tests, tools without a
config).

`update_imported` is `Store.update_document` plus the upgrade from the files an older
lichnhac kept in the state dir: when the document does not exist yet and the old file
does, the file's content is converted and stored inside the same transaction (so two
nodes importing at once give one result), then the file is renamed `<name>.imported` and
the import logged once.
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from scheduler.config import Config
from scheduler.errors import LichnhacError
from scheduler.i18n import _
from scheduler.store import Store, open_store

log = logging.getLogger(__name__)

IMPORTED_SUFFIX = ".imported"
# Stores opened for documents only (not registered by a daemon), least recently used last.
_OPEN_LIMIT = 8

_lock = threading.Lock()
_registered: dict[str, Store] = {}
_opened: OrderedDict[str, tuple[Store, tuple[int, int] | None]] = OrderedDict()


def _key(state_dir: Path) -> str:
    return str(state_dir.absolute())


def _config_key(config: Config) -> str:
    """A config's store: its state dir, and its database if it names one (PostgreSQL)."""
    database = config.database_url
    return _key(config.state_dir) + ("" if database is None else f"\0{database}")


@contextmanager
def serving(config: Config, store: Store) -> Iterator[None]:
    """While inside, `documents(config)` is `store` (the daemon's own store)."""
    key = _config_key(config)
    with _lock:
        _registered[key] = store
    try:
        yield
    finally:
        with _lock:
            if _registered.get(key) is store:
                del _registered[key]


def _identity(store: Store) -> tuple[int, int] | None:
    """The (device, inode) of a file-backed store's file, None if it has none or lost it."""
    path = getattr(store, "path", None)
    if not isinstance(path, Path):
        return (0, 0)
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _cached(key: str, opener: Callable[[], Store]) -> Store:
    with _lock:
        store = _registered.get(key)
        if store is not None:
            return store
        entry = _opened.get(key)
        # A ledger file deleted or replaced since we opened it (a test's temp dir, a
        # restored backup) is opened again: SQLite must never keep using an unlinked file.
        if entry is not None and _identity(entry[0]) != entry[1]:
            del _opened[key]
            entry[0].close()
            entry = None
        if entry is None:
            try:
                opened = opener()
            except sqlite3.Error as exc:    # a full disk, a read-only or damaged ledger file
                raise StoredDocumentError(_("cannot write to {path}: {reason}").format(
                    path=Path(key.split("\0")[0]) / "ledger.sqlite3", reason=exc)) from None
            entry = _opened[key] = (opened, _identity(opened))
            while len(_opened) > _OPEN_LIMIT:
                _opened.popitem(last=False)[1][0].close()
        _opened.move_to_end(key)
        return entry[0]


def documents(config: Config) -> Store:
    """The store holding `config`'s documents (feed revisions, tokens, the secret)."""
    return _cached(_config_key(config), lambda: open_store(config))


def documents_at(state_dir: Path) -> Store:
    """The SQLite store of a bare state dir (`<state_dir>/ledger.sqlite3`)."""
    from scheduler.store.sqlite import SqliteStore

    return _cached(_key(state_dir),
                   lambda: SqliteStore(state_dir / "ledger.sqlite3"))


@atexit.register
def close_all() -> None:
    """Close the stores opened here (not the registered ones: their owner closes them)."""
    with _lock:
        while _opened:
            _opened.popitem()[1][0].close()


class StoredDocumentError(LichnhacError):
    """The store refused to keep a document (the message names the store, not the
    document's content: some hold secrets)."""


def read_legacy(path: Path | None) -> bytes | None:
    """The bytes of an older lichnhac's state file, None if there is none."""
    if path is None:
        return None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def update_imported(store: Store, name: str, change: Callable[[bytes | None], bytes | None],
                    legacy: Path | None = None,
                    convert: Callable[[bytes], bytes | None] | None = None,
                    rename: bool = True) -> bytes | None:
    """`store.update_document(name, change)`, importing `legacy` first if the document
    does not exist yet: `convert` turns the file's bytes into the document's (None: the
    file is unusable and was reported; start empty). With `rename`, the imported file
    becomes `<file>.imported` once the transaction is committed."""
    imported: list[Path] = []

    def import_then_change(current: bytes | None) -> bytes | None:
        imported.clear()
        if current is None and legacy is not None:
            raw = read_legacy(legacy)
            if raw is not None:
                current = convert(raw) if convert is not None else raw
                imported.append(legacy)
        new = change(current)
        return current if new is None and imported else new

    try:
        result = store.update_document(name, import_then_change)
    except sqlite3.Error as exc:   # a full disk, a read-only or damaged ledger file
        where = getattr(store, "path", "the store")
        raise StoredDocumentError(_("cannot write to {path}: {reason}")
                            .format(path=where, reason=exc)) from None
    for path in imported:
        log.info("imported %s into the store as the %r document", path, name)
        if rename:
            retire_legacy(path)
    return result


def retire_legacy(path: Path) -> None:
    """Rename an imported state file `<file>.imported` (kept for the operator, unused)."""
    try:
        path.replace(path.with_name(path.name + IMPORTED_SUFFIX))
    except FileNotFoundError:
        pass        # another process of this node renamed it first
    except OSError as exc:
        log.warning("cannot rename %s after importing it (%s): it is no longer read", path,
                    exc)

"""`lichnhac db upgrade` and `lichnhac db copy --to URL | --to-file PATH [--force]`: the
store's schema, and moving a SQLite deployment's history to PostgreSQL."""

from __future__ import annotations

import argparse
from pathlib import Path

from scheduler.commands import load
from scheduler.config import Config
from scheduler.database_url import check_url, masked, read_url_file
from scheduler.errors import UsageError
from scheduler.i18n import _
from scheduler.store import default_owner
from scheduler.store.migrations import SCHEMA_VERSION


def main(args: argparse.Namespace) -> int:
    config = load(args)
    if args.db_command == "upgrade":
        return upgrade(config)
    return copy(config, args.to, args.to_file, args.force)


def _report(steps: list[tuple[int, str]], where: str) -> None:
    for version, summary in steps:
        print(_("schema version {version}: {summary}").format(version=version,
                                                                summary=_(summary)))
    if steps:
        print(_("The store {where} is now at schema version {version}.")
              .format(where=where, version=SCHEMA_VERSION))
    else:
        print(_("The store {where} is already at schema version {version}: nothing to do.")
              .format(where=where, version=SCHEMA_VERSION))


def upgrade(config: Config) -> int:
    """Apply the pending schema steps to the configured store."""
    if config.database_url is None:
        from scheduler.store.sqlite import SqliteStore

        path = config.state_dir / "ledger.sqlite3"
        store = SqliteStore(path)      # SQLite upgrades itself at open
        store.close()
        _report(store.upgraded, str(path))
        return 0
    from scheduler.store.postgresql import PostgresqlStore

    target = PostgresqlStore(config.database_url, default_owner(config.state_dir),
                             check_schema=False)
    try:
        _report(target.upgrade(), masked(config.database_url))
    finally:
        target.close()
    return 0


def copy(config: Config, to: str | None, to_file: Path | None, force: bool) -> int:
    """Copy `<state dir>/ledger.sqlite3` into the PostgreSQL database named."""
    try:
        url = (check_url(to, password_allowed=True) if to is not None
               else read_url_file(to_file) if to_file is not None else None)
    except ValueError as exc:
        shown = masked(to) if to is not None else str(to_file)
        raise UsageError(f"{shown} {exc}") from None
    if url is None:
        raise UsageError(_("db copy needs --to URL or --to-file PATH"))
    path = config.state_dir / "ledger.sqlite3"
    if not path.is_file():
        raise UsageError(_("there is no SQLite ledger to copy at {path}").format(path=path))
    from scheduler.store.copy import copy_store
    from scheduler.store.postgresql import PostgresqlStore
    from scheduler.store.sqlite import SqliteStore

    source = SqliteStore(path)
    try:
        target = PostgresqlStore(url, default_owner(config.state_dir), check_schema=False)
        try:
            _report(target.upgrade(), masked(url))
            copied = copy_store(source, target, force=force)
        finally:
            target.close()
    finally:
        source.close()
    print(_("Copied {path} to {where}: {reminders} reminders, {confirmations} confirmations "
            "({log} log entries), {marks} marks, {documents} documents.").format(
                path=path, where=masked(url), reminders=copied.reminders,
                confirmations=copied.confirmations, log=copied.log, marks=copied.marks,
                documents=copied.documents))
    return 0

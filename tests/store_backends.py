"""Both store back-ends behind one opener, for contract tests: `stores("node-a")` opens the
one database of the test (a SQLite file, or a fresh PostgreSQL database of the session's
throwaway cluster, upgraded to the current schema) as node `node-a`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.store import DEFAULT_LEASE, Store
from scheduler.store.postgresql import PostgresqlStore
from scheduler.store.sqlite import SqliteStore

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]

Opener = Callable[..., Store]


def opener(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Opener]:
    """Yield an opener for `kind`; every store it opened is closed afterwards."""
    opened: list[Store] = []
    url = ""
    if kind == "postgresql":
        url = request.getfixturevalue("pg_url")
        with PostgresqlStore(url, owner="setup", check_schema=False) as setup:
            setup.upgrade()

    def open_as(owner: str = "node", lease: timedelta = DEFAULT_LEASE) -> Store:
        store: Store
        if kind == "sqlite":
            store = SqliteStore(tmp_path / "ledger.sqlite3", owner=owner, lease=lease)
        else:
            store = PostgresqlStore(url, owner=owner, lease=lease)
        opened.append(store)
        return store

    yield open_as
    for store in opened:
        store.close()


def raw_sql(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run SQL (`?` placeholders) on the store's database, committed; its rows."""
    if isinstance(store, SqliteStore):
        return store.db.execute(sql, params).fetchall()
    assert isinstance(store, PostgresqlStore)
    with store.pool.connection() as conn:
        cursor = conn.execute(sql.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []

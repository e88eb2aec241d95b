"""`[state]` database settings: a URL without a password, or a file (mode 0600) holding it;
mistakes reported at their line, never showing the password; absent means SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.config import load_config
from scheduler.errors import ConfigError
from scheduler.store import open_store
from scheduler.store.postgresql import PostgresqlStore
from scheduler.store.sqlite import SqliteStore

Write = Callable[[str, str], Path]
URL = "postgresql://lichnhac:s3cret-word@db.example.gov.vn:5433/lichnhac"
UNIT = '\n[[unit]]\nid = "so-lao-dong"\nname = "Sở Lao động"\nemail = ["sld@example.gov.vn"]\n'

pytestmark = pytest.mark.usefixtures("english")


def _config(write: Write, state: str) -> Path:
    return write("config.toml", state + UNIT)


def _problems(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def test_no_database_means_sqlite_in_the_state_dir(write: Write, tmp_path: Path) -> None:
    config = load_config(_config(write, '[state]\ndir = "var"\n'))
    assert config.database_url is None and config.lease_seconds == 120
    with open_store(config) as store:
        assert isinstance(store, SqliteStore)
        assert store.path == tmp_path / "var" / "ledger.sqlite3"
        assert store.owner.endswith(f":{(tmp_path / 'var').resolve()}")


def test_a_url_in_config_is_used_and_a_password_there_is_refused_masked(write: Write) -> None:
    config = load_config(_config(write, '[state]\ndatabase = '
                               '"postgresql://lichnhac@db.example.gov.vn/lichnhac"\n'
                               "lease_seconds = 60\n"))
    assert config.database_url == "postgresql://lichnhac@db.example.gov.vn/lichnhac"
    assert config.lease_seconds == 60 and "db.example" not in repr(config)
    message = _problems(_config(write, f'[state]\ndir = "var"\ndatabase = "{URL}"\n'))
    assert "config.toml:3: [state]: database " in message
    assert "lichnhac:***@db.example.gov.vn:5433" in message and "database_file" in message
    assert "s3cret" not in message


def test_database_file_is_read_when_private_and_refused_when_not(write: Write,
                                                                 tmp_path: Path) -> None:
    secret = tmp_path / "db-url"
    secret.write_text(URL + "\n", encoding="utf-8")
    secret.chmod(0o600)
    path = _config(write, '[state]\ndatabase_file = "db-url"\n')
    assert load_config(path).database_url == URL
    secret.chmod(0o640)
    message = _problems(path)
    assert 'config.toml:2: [state]: database_file "db-url" ' in message
    assert "640" in message and "chmod 600" in message and "s3cret" not in message
    secret.chmod(0o600)
    secret.write_text("mysql://nope\n", encoding="utf-8")
    assert "postgresql://" in _problems(path)
    assert "db-missing" in _problems(write("config.toml",
                                           '[state]\ndatabase_file = "db-missing"\n'))


def test_both_keys_or_a_silly_lease_are_mistakes_at_their_line(write: Write) -> None:
    message = _problems(_config(write, '[state]\ndatabase = "postgresql://h/d"\n'
                              'database_file = "f"\nlease_seconds = 0\n'))
    lines = message.splitlines()
    assert "config.toml:3: [state]: database and database_file" in lines[0]
    assert "config.toml:4: [state]: lease_seconds 0" in lines[1]


@pytest.mark.postgresql
def test_open_store_picks_postgresql_for_a_database(write: Write, pg_url: str) -> None:
    config = load_config(_config(write, f'[state]\ndatabase = "{pg_url}"\n'))
    with open_store(config) as store:
        assert isinstance(store, PostgresqlStore)
        assert store.lease.total_seconds() == 120

"""The `[state]` database URL: checked, read from its file, and shown without its password.

`database = "postgresql://user@host:5432/lichnhac"` names a PostgreSQL database in config;
a password never goes there: `database_file` names a file (mode 0600 or stricter, like every
secret) whose content is the whole URL, or libpq's own `~/.pgpass` supplies it.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from scheduler.converters import path_text, quoted
from scheduler.i18n import _

if TYPE_CHECKING:
    from scheduler.reader import Reader

SCHEMES = ("postgresql", "postgres")
MAX_URL = 4096
LEASE_SECONDS = 120             # how long a claim holds unless renewed
MIN_LEASE, MAX_LEASE = 10, 3600


def check_url(value: str, *, password_allowed: bool) -> str:
    """`value` if it is a usable PostgreSQL URL; else ValueError completing "<key> ..."."""
    text = value.strip()
    if not text or len(text) > MAX_URL or any(c in text for c in "\x00\r\n"):
        raise ValueError(_("is not a PostgreSQL URL: expected postgresql://user@host:port/"
                           "database"))
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(_("is not a PostgreSQL URL: expected postgresql://user@host:port/"
                           "database")) from None
    if parts.scheme not in SCHEMES:
        raise ValueError(_("is not a PostgreSQL URL: expected postgresql://user@host:port/"
                           "database"))
    if not password_allowed and (parts.password is not None
                                 or "password" in parse_qs(parts.query)):
        raise ValueError(_("holds a password: put the whole URL in a file named by "
                           "database_file (mode 0600), never in config"))
    return text


def masked(url: str) -> str:
    """The URL with its password replaced by `***` (for logs and messages)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        user, _sep, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = "&".join("password=***" if item.lower().startswith("password=") else item
                     for item in parts.query.split("&")) if parts.query else ""
    return parts._replace(netloc=netloc, query=query).geturl()


def where(url: str) -> str:
    """`host:port` of the URL, for "cannot reach" messages."""
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    return f"{parts.hostname or 'localhost'}:{port}"


def read_url_file(path: Path) -> str:
    """The URL in `path`, refused when group or others may read the file (ValueError
    completing "database_file <path> ...")."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ValueError(_("is readable by group or others (mode {mode:o}): it holds the "
                               "database password; run chmod 600 on it")
                             .format(mode=stat.S_IMODE(mode)))
        with path.open("rb") as handle:
            data = handle.read(MAX_URL + 1)
    except OSError as exc:
        raise ValueError(_("cannot be read: {reason}").format(
            reason=exc.strerror or exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(_("is not UTF-8 text")) from None
    return check_url(text, password_allowed=True)


def state_database(reader: Reader, state: dict[str, Any], base: Path
                   ) -> tuple[str | None, int]:
    """`[state]`'s database URL (from `database` or the file `database_file`; None: the
    SQLite default) and `lease_seconds`, every problem reported at its line. A value is
    shown in messages with its password masked."""
    where = "[state]"
    lease = reader.value(("state",), state, "lease_seconds", int, where, default=LEASE_SECONDS)
    if not MIN_LEASE <= lease <= MAX_LEASE:
        reader.error(("state", "lease_seconds"), _(
            "[state]: lease_seconds {value} is out of range: expected {low} to {high} seconds")
            .format(value=lease, low=MIN_LEASE, high=MAX_LEASE))
        lease = LEASE_SECONDS
    text = reader.value(("state",), state, "database", str, where, default=None)
    name = reader.value(("state",), state, "database_file", str, where, default=None)
    if text is not None and name is not None:
        reader.error(("state", "database_file"), _(
            "[state]: database and database_file are both set: keep one (database_file "
            "when the URL holds a password)"))
        return None, lease
    if text is not None:
        try:
            return check_url(text, password_allowed=False), lease
        except ValueError as exc:
            reader.error(("state", "database"), f"{where}: database {quoted(masked(text))} "
                                                f"{exc}")
            return None, lease
    if name is None:
        return None, lease
    try:
        return read_url_file(base / path_text(name)), lease
    except ValueError as exc:
        reader.error(("state", "database_file"), f"{where}: database_file {quoted(name)} "
                                                 f"{exc}")
        return None, lease

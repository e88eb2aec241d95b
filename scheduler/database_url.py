"""The `[state]` database URL: checked, read from its file, and shown without its password.

`database = "postgresql://user@host:5432/lichnhac"` names a PostgreSQL database in config;
a password never goes there: `database_file` names a file (mode 0600 or stricter, like every
secret) whose content is the whole URL, or libpq's own `~/.pgpass` supplies it.
"""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from scheduler.i18n import _

SCHEMES = ("postgresql", "postgres")
MAX_URL = 4096


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

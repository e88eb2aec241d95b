"""Small named converters from raw TOML values to typed ones.

Each raises `ValueError` whose message completes the sentence "<key> <value> ...": the
caller prefixes where and what, so the wording users see is assembled in one place.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from scheduler.i18n import N_, _

_UNIT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
# Deliberately plain: one @, a dotted domain, no spaces or header-breaking characters.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring = 2, 4, 4, 60
_SHORT.maxother = 60
MAX_SHOWN = 80


def quoted(value: Any) -> str:
    """A value as it would be written in TOML, for messages (long or deep ones cut)."""
    if isinstance(value, str):
        shown = value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…"
        return '"' + shown.replace("\x00", "\\u0000") + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return _SHORT.repr(value)
    return str(value)


TYPE_NAMES: dict[type, str] = {  # English msgids, translated where shown
    str: N_("a string"), bool: N_("a boolean"), int: N_("an integer"), float: N_("a number"),
    list: N_("an array"), dict: N_("a table"), datetime: N_("a date-time"), date: N_("a date"),
    time: N_("a time of day"),
}


def type_name(value: Any) -> str:
    """`610` → "an integer": a TOML value's type, for messages."""
    return _(TYPE_NAMES[type(value)]) if type(value) in TYPE_NAMES else type(value).__name__


def kind_name(kind: type) -> str:
    """`int` → "an integer": a Python type's TOML name, for "expected ..." messages."""
    return _(TYPE_NAMES[kind]) if kind in TYPE_NAMES else kind.__name__


def _text(value: Any, reason: str) -> str:
    """`value` if it is a string, else the converter's own ValueError.

    `reason` is an untranslated msgid (marked with `N_`): it is translated only when the
    value is refused, so the common case costs no catalog lookup (config load at national
    scale calls the converters ~200,000 times)."""
    if not isinstance(value, str):
        raise ValueError(_("is {type}: {reason}").format(type=type_name(value),
                                                         reason=_(reason)))
    return value


def path_text(value: Any) -> str:
    """A file or folder name from config: a non-empty string without NUL."""
    text = _text(value, N_("expected a path"))
    if not text.strip():
        raise ValueError(_("is empty: expected a path"))
    if "\x00" in text:
        raise ValueError(_("contains a NUL character: expected a path"))
    return text


def did_you_mean(value: str, known: Iterable[str], limit: int = 8) -> str:
    """`, did you mean "phong-tu-phap"?` or `; known: a, b, c and 12 more` (one place for
    the wording of every "unknown id" message)."""
    choices = sorted(set(known))
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if close:
        return _(', did you mean "{id}"?').format(id=close[0])
    if choices:
        return _("; known: {ids}").format(ids=listed(choices, limit))
    return _("; none configured")


def listed(items: list[str], limit: int) -> str:
    """`a, b, c and 12 more`: a list that says when it is cut."""
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        return _("{shown} and {more} more").format(shown=shown, more=len(items) - limit)
    return shown


def unit_id(value: str) -> str:
    if not _UNIT_ID.match(_text(value, N_("expected an id"))):
        raise ValueError(_("is not a valid id: expected lowercase letters, digits and '-'"))
    return value


def email_address(value: str) -> str:
    if not _EMAIL.match(_text(value, N_("expected an address"))) or len(value) > 254:
        raise ValueError(_("is not an address"))
    return value


def split_mailbox(value: str) -> tuple[str, str]:
    """`Name <user@host>` → ("Name", "user@host"); a bare address has no name. The name is
    everything before the last `<`, so a comma in an unquoted name (`Lịch nhắc, UBND xã
    <a@b>`, which `email.utils.parseaddr` reads as two addresses) stays part of it;
    surrounding quotes are removed."""
    if "<" not in value:
        return "", value.strip()
    name, _sep, rest = value.rpartition("<")
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"')
    return name, rest.strip().removesuffix(">").strip()


def month_day(value: str) -> tuple[int, int]:
    """`"06-10"` → (6, 10). 29 February is allowed (it happens in leap years)."""
    match = _MONTH_DAY.match(_text(value, N_("expected MM-DD")))
    if not match:
        raise ValueError(_("is not a date: expected MM-DD or YYYY-MM-DD"))
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2024, month, day)  # a leap year, so 02-29 passes
    except ValueError:
        raise ValueError(_("is not a day of the year: expected MM-DD, e.g. \"06-10\"")) from None
    return month, day


def iso_date(value: str | date) -> date:
    if isinstance(value, datetime):
        raise ValueError(_("is a date-time: expected a date, YYYY-MM-DD"))
    if isinstance(value, date):
        return value
    _text(value, N_("expected a date, YYYY-MM-DD"))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(_("is not a date: expected YYYY-MM-DD")) from None


def day_or_yearly(value: str | date) -> date | tuple[int, int]:
    """A dated day (`2026-06-05`) or a yearly month-day (`06-05`)."""
    if isinstance(value, datetime):
        raise ValueError(_("is a date-time: expected MM-DD (yearly) or YYYY-MM-DD"))
    if isinstance(value, date):
        return value
    _text(value, N_("expected MM-DD (yearly) or YYYY-MM-DD"))
    if _MONTH_DAY.match(value):
        return month_day(value)
    if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(_("is not a valid date: expected YYYY-MM-DD")) from None
    raise ValueError(_("is not a date: expected MM-DD (yearly) or YYYY-MM-DD"))


def month_or_year_month(value: int | str) -> int | tuple[int, int]:
    """`6` (every June) or `"2026-07"` (July 2026)."""
    if isinstance(value, bool):
        raise ValueError(_("is not a month: expected 1-12 or \"YYYY-MM\""))
    if isinstance(value, int):
        if 1 <= value <= 12:
            return value
        raise ValueError(_("is not a month: expected 1-12 or \"YYYY-MM\""))
    match = _YEAR_MONTH.match(_text(value, N_("expected 1-12 or \"YYYY-MM\"")))
    if match and 1 <= int(match.group(2)) <= 12:
        return int(match.group(1)), int(match.group(2))
    raise ValueError(_("is not a month: expected 1-12 or \"YYYY-MM\""))


def lead_days(value: Any) -> tuple[int, ...]:
    """`[30, 7, 0]` → (30, 7, 0): days before an occurrence, each 0..366, no repeats."""
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(_("is not a list of whole days: expected e.g. [14, 7, 3, 1, 0]"))
    if any(v < 0 or v > 366 for v in value):
        raise ValueError(_("has a lead time outside 0..366 days"))
    if len(set(value)) != len(value):
        raise ValueError(_("lists the same lead time twice"))
    return tuple(sorted(value, reverse=True))


def clock_time(value: str) -> time:
    match = _CLOCK.match(_text(value, N_("expected HH:MM, e.g. \"08:00\"")))
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(_("is not a time of day: expected HH:MM, e.g. \"08:00\""))


def listen_address(value: str) -> tuple[str, int]:
    """`"127.0.0.1:8080"` or `"[::1]:8080"` → (host, port)."""
    host, sep, port = _text(value, N_("expected HOST:PORT")).rpartition(":")
    if sep and port.isdigit() and 0 <= int(port) <= 65535 and host:
        return host.strip("[]"), int(port)
    raise ValueError(_("is not an address: expected HOST:PORT, e.g. \"127.0.0.1:8080\""))


MAX_WORKERS = 64


def worker_count(value: str | int) -> int | None:
    """`"auto"` → None (one per usable CPU), or a number of serving processes, 0 to 64."""
    if value == "auto" or (isinstance(value, int) and 0 <= value <= MAX_WORKERS):
        return None if value == "auto" else int(value)
    raise ValueError(_('is not a number of workers: expected "auto" or a whole number from '
                       '0 to {max}').format(max=MAX_WORKERS))


def http_url(value: str) -> str:
    if re.match(r"^https?://[^\s/?#]+(?:/[^\s]*)?$", _text(value, N_("expected a URL"))):
        return value.rstrip("/")
    raise ValueError(_("is not a URL: expected http://HOST[:PORT] or https://HOST"))

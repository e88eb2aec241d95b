"""Low-level iCalendar writing: text cleaning, escaping, octet-safe folding, durations.

We write content lines ourselves instead of going through `icalendar` objects: a national
deployment assembles tens of thousands of feeds, and writing the bytes directly keeps every
rule of FEEDS.md (fold at 75 octets between UTF-8 characters, CRLF, durations with their
VALUE type) visible in one place. `icalendar` is still used for VTIMEZONE data.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta

from icalendar import Timezone

CRLF = b"\r\n"
MAX_LINE_OCTETS = 75

# Email addresses never appear in a feed: a calendar file may quote one in free text.
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
EMAIL_REPLACEMENT = "(địa chỉ email đã ẩn)"

# Line breaks in the wild: CRLF, Word's vertical tab, Unicode line/paragraph separators.
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")


# Control characters (Cc), surrogates (Cs), private-use characters (Co), BOM/noncharacters,
# and U+FFFD (the trace of an earlier decoding error; it would look like our own fault).
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ue000-\uf8ff"
                      "\ufeff\ufffd\ufffe\uffff\U000f0000-\U0010ffff]")


def clean_text(text: str, multiline: bool = False) -> str:
    """NFC text without control characters or email addresses.

    Single-line text has its whitespace collapsed; multi-line text keeps its line breaks
    (as `\\n`) and drops trailing spaces.
    """
    text = unicodedata.normalize("NFC", text)
    if "@" in text:  # every address the pattern finds has one
        text = EMAIL_PATTERN.sub(EMAIL_REPLACEMENT, text)
    if multiline:
        lines = _LINE_BREAKS.split(text)
        cleaned = [_CONTROL.sub("", line).replace("\t", " ").rstrip() for line in lines]
        return "\n".join(cleaned).strip("\n")
    if not text.isprintable() or "\ufffd" in text:
        # Printable text has no line break (Cc, Zl, Zp) and nothing _CONTROL removes but
        # U+FFFD (Cc, Cs, Co, Cf, Cn are not printable): most names skip both passes.
        text = _CONTROL.sub("", _LINE_BREAKS.sub(" ", text))
    return " ".join(text.split())


def escape_text(text: str) -> str:
    """RFC 5545 TEXT escaping (3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def fold(line: str) -> bytes:
    """One content line as UTF-8 with CRLF, folded at ≤ 75 octets, never inside a character."""
    data = line.encode("utf-8")
    if len(data) <= MAX_LINE_OCTETS:
        return data + CRLF
    parts: list[bytes] = []
    limit = MAX_LINE_OCTETS
    while len(data) > limit:
        cut = limit
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back up to its lead
            cut -= 1
        parts.append(data[:cut])
        data = data[cut:]
        limit = MAX_LINE_OCTETS - 1  # continuation lines start with one space
    parts.append(data)
    return (CRLF + b" ").join(parts) + CRLF


def text_line(name: str, value: str, multiline: bool = False) -> bytes:
    """`NAME:escaped text`, cleaned and folded."""
    return fold(f"{name}:{escape_text(clean_text(value, multiline))}")


def utc_stamp(moment: datetime) -> str:
    """`20261122T010203Z`."""
    if moment.tzinfo is None:
        raise ValueError("aware datetime expected")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def date_value(day: date) -> str:
    return day.strftime("%Y%m%d")


def duration(delta: timedelta) -> str:
    """RFC 5545 DURATION (3.3.6): `PT6H`, `-P1DT16H`, `PT0S`."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P"
    if days:
        text += f"{days}D"
    if hours or minutes or secs:
        text += "T"
        text += f"{hours}H" if hours else ""
        text += f"{minutes}M" if minutes else ""
        text += f"{secs}S" if secs else ""
    if text in ("P", "-P"):
        return "PT0S"
    return text


def vtimezone(tzid: str, first: date, last: date) -> bytes:
    """A VTIMEZONE for `tzid` covering [first, last], without the COMMENT icalendar adds.

    Asia/Ho_Chi_Minh comes out as one +0700 STANDARD block.
    """
    component = Timezone.from_tzid(tzid, first_date=first, last_date=last)
    component.pop("COMMENT", None)
    data = component.to_ical()
    lines = [line for line in data.split(b"\r\n") if line and not line.startswith(b"COMMENT")]
    return CRLF.join(lines) + CRLF

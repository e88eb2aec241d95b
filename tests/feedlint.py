"""Our own lint for what the iCalendar parsers do not check (FEEDS.md, "Validators").

`lint(data)` returns every problem found in one feed's bytes: CRLF only, lines of at most
75 octets (continuations included), folds never inside a UTF-8 character, no BOM, a
VTIMEZONE for every TZID used (X-WR-TIMEZONE included), unique UIDs, nothing after a
VALARM inside its VEVENT and at most one VALARM, DURATION syntax of the refresh hints and
triggers, no email address, and a size under 800 KB.
"""

from __future__ import annotations

import re

MAX_BYTES = 800_000
MAX_OCTETS = 75
DURATION = re.compile(r"^[+-]?P(?:\d+W|(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$")
EMAIL = re.compile(rb"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DURATION_PROPERTIES = ("REFRESH-INTERVAL", "X-PUBLISHED-TTL", "TRIGGER", "DURATION")


def _unfold(lines: list[bytes]) -> list[str]:
    logical: list[bytes] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and logical:
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [line.decode("utf-8") for line in logical]


def _check_duration(name: str, params: str, value: str, problems: list[str]) -> None:
    if name == "TRIGGER" and "VALUE=DATE-TIME" in params.upper():
        return
    if name == "REFRESH-INTERVAL" and "VALUE=DURATION" not in params.upper():
        problems.append("REFRESH-INTERVAL without ;VALUE=DURATION")
    if not DURATION.match(value) or value in ("P", "-P", "PT", "-PT"):
        problems.append(f"{name}: {value!r} is not an RFC 5545 duration")


def lint(data: bytes) -> list[str]:
    """Every problem in one feed, as readable strings (an empty list: clean)."""
    problems: list[str] = []
    if len(data) >= MAX_BYTES:
        problems.append(f"feed is {len(data)} bytes: must stay under {MAX_BYTES}")
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append("starts with a BOM")
    if not data.endswith(b"\r\n"):
        problems.append("does not end with CRLF")
    if re.search(rb"(?<!\r)\n", data) or re.search(rb"\r(?!\n)", data):
        problems.append("bare LF or CR: lines must end with CRLF only")
    if EMAIL.search(data):
        problems.append(f"contains an email address: {EMAIL.search(data)!r}")
    raw_lines = data.split(b"\r\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    for number, line in enumerate(raw_lines, 1):
        if len(line) > MAX_OCTETS:
            problems.append(f"line {number} is {len(line)} octets (max {MAX_OCTETS})")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"line {number} is not whole UTF-8 (folded inside a character?)")
            return problems
    lines = _unfold(raw_lines)
    if not lines or lines[0] != "BEGIN:VCALENDAR" or lines[-1] != "END:VCALENDAR":
        problems.append("not one VCALENDAR")
    tzids_used: set[str] = set()
    tzids_defined: set[str] = set()
    uids: set[str] = set()
    stack: list[str] = []
    alarms_in_event = 0
    after_alarm = False
    for line in lines:
        head, _, value = line.partition(":")
        name, _, params = head.partition(";")
        name = name.upper()
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                alarms_in_event, after_alarm = 0, False
            elif value == "VALARM":
                alarms_in_event += 1
                if alarms_in_event > 1:
                    problems.append("more than one VALARM in a VEVENT")
            continue
        if name == "END":
            if not stack or stack[-1] != value:
                problems.append(f"END:{value} does not close {stack[-1:]}")
            else:
                stack.pop()
            if value == "VALARM":
                after_alarm = True
            continue
        if after_alarm and stack and stack[-1] == "VEVENT":
            problems.append(f"{name} after a VALARM (Outlook drops it)")
        for param in params.split(";"):
            if param.upper().startswith("TZID="):
                tzids_used.add(param[5:].strip('"'))
        if name == "X-WR-TIMEZONE":
            tzids_used.add(value)
        if name == "TZID" and stack and stack[-1] == "VTIMEZONE":
            tzids_defined.add(value)
        if name == "UID":
            if value in uids:
                problems.append(f"duplicate UID {value}")
            uids.add(value)
            if not value.isascii():
                problems.append(f"UID {value!r} is not ASCII")
        if name in DURATION_PROPERTIES:
            _check_duration(name, params, value, problems)
    if stack:
        problems.append(f"unclosed components: {stack}")
    for tzid in sorted(tzids_used - tzids_defined):
        problems.append(f"TZID {tzid} has no VTIMEZONE")
    return problems

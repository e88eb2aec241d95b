"""Reading TOML with line numbers.

`tomllib` gives values but no positions; every error we report must name a line. A small
scanner walks the text alongside and remembers where each table header and key sits, so
`TomlDoc.line(("unit", 2, "email"))` answers the line of the third unit's `email` key (or
of the nearest enclosing table when the key itself is absent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from scheduler.errors import Problem, display_path
from scheduler.i18n import _
from scheduler.tomlparser import TOMLDecodeError, parse_toml

PathKey = tuple[str | int, ...]

_BARE_OR_QUOTED = r'(?:[A-Za-z0-9_-]+|"[^"\n]*"|\'[^\'\n]*\')'
_KEY_LINE = re.compile(rf"^\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=")
_TABLE_LINE = re.compile(
    rf"^\s*(\[\[?)\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*\]\]?")
_KEY_PART = re.compile(_BARE_OR_QUOTED)
_DECODE_LINE = re.compile(r"line (\d+)")


@lru_cache(maxsize=4096)
def _split_key(dotted: str) -> tuple[str, ...]:
    """`a."b".c` → ("a", "b", "c"); the same few keys recur on every line of a big file."""
    return tuple(part.strip("\"'") for part in _KEY_PART.findall(dotted))


@dataclass
class TomlDoc:
    """A parsed TOML file: its data, its display name and where each key sits.

    Where every key sits (`lines`) is worked out on first use: loading a national config
    needs only the line of each `[[unit]]` header (`headers`, found by one regex pass),
    the line of a key only when a problem is reported at it."""

    path: Path
    name: str
    data: dict[str, Any]
    text: str
    headers: dict[PathKey, int] | None = None
    _lines: dict[PathKey, int] | None = field(default=None, repr=False, compare=False)

    @property
    def lines(self) -> dict[PathKey, int]:
        """Every located table and key path → its line."""
        if self._lines is None:
            self._lines = _locate(self.text)
        return self._lines

    def line(self, path: PathKey) -> int:
        """The line of `path`, or of its nearest located ancestor (1 if none)."""
        if self.headers is not None and path and isinstance(path[-1], int):
            # A path ending in an index is located by its header only (keys end in names).
            found = self.headers.get(path)
            if found is not None:
                return found
        lines = self.lines
        for end in range(len(path), 0, -1):
            found = lines.get(path[:end])
            if found is not None:
                return found
        return 1

    def line_of_value(self, path: PathKey, value: str) -> int:
        """The line where the string `value` is written inside the array at `path`."""
        start = self.line(path)
        needles = (f'"{value}"', f"'{value}'")
        text_lines = self.text.splitlines()
        for number in range(start, min(start + 200, len(text_lines)) + 1):
            if any(n in text_lines[number - 1] for n in needles):
                return number
        return start

    def problem(self, path: PathKey, message: str, severity: str = "error") -> Problem:
        return Problem(self.name, self.line(path), message, severity)


def _header(kind: str, names: tuple[str, ...], array_counts: dict[tuple[str, ...], int]
            ) -> PathKey:
    """The located path a `[a.b]` or `[[a.b]]` header opens (counting arrays of tables)."""
    if kind == "[[":
        index = array_counts.get(names, -1) + 1
        array_counts[names] = index
        # Nested arrays of tables are rare in our files; index the last name only.
        parent = _nearest_parent(names[:-1], array_counts)
        return (*parent, names[-1], index)
    return _nearest_parent(names, array_counts)


def _add_header(lines: dict[PathKey, int], table: PathKey, number: int) -> None:
    lines.setdefault(table, number)
    # `[reminder.lead_days]` also defines `reminder`: a typo in its first part is
    # reported at this header, not at line 1.
    for end in range(1, len(table)):
        lines.setdefault(table[:end], number)


def _locate(text: str) -> dict[PathKey, int]:
    lines: dict[PathKey, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    table: PathKey = ()
    in_multiline: str | None = None
    table_line, key_line = _TABLE_LINE.match, _KEY_LINE.match
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = table_line(line)
        if header:
            table = _header(header.group(1), _split_key(header.group(2)), array_counts)
            _add_header(lines, table, number)
            continue
        key = key_line(line)
        if key:
            full = (*table, *_split_key(key.group(1)))
            lines.setdefault(full, number)
            # Only a line with a triple quote after its `=` can open a multi-line string.
            if '"""' in line or "'''" in line:
                rest = line[key.end():]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote
                        break
    return lines


# A line that may be a table header: a newline, whitespace other than a newline, "[".
_HEADER_START = re.compile(r"\n[^\S\n]*\[")
# What could make `_locate` see lines differently from counting "\n": a multi-line string
# (a "[" inside it is no header) or a line break other than "\n" (str.splitlines splits
# there too).
_NOT_HEADERS_ONLY = ('"""', "'''", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85",
                     "\u2028", "\u2029")


def _locate_headers(text: str) -> dict[PathKey, int] | None:
    """The table paths `_locate` would find, with the same lines, by visiting only the
    lines that start with "["; None when the text needs the full scan."""
    if any(needle in text for needle in _NOT_HEADERS_ONLY):
        return None
    lines: dict[PathKey, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    number, position = 1, 0
    starts = [0] + [found.start() + 1 for found in _HEADER_START.finditer(text)]
    for begin in starts:
        number += text.count("\n", position, begin)
        position = begin
        end = text.find("\n", begin)
        header = _TABLE_LINE.match(text[begin:] if end < 0 else text[begin:end])
        if header:
            _add_header(lines, _header(header.group(1), _split_key(header.group(2)),
                                       array_counts), number)
    return lines


def _nearest_parent(names: tuple[str, ...], array_counts: dict[tuple[str, ...], int]) -> PathKey:
    """Map `a.b` to its located path, inserting the current index of arrays of tables."""
    path: list[str | int] = []
    for depth, name in enumerate(names):
        path.append(name)
        index = array_counts.get(names[: depth + 1])
        if index is not None:
            path.append(index)
    return tuple(path)


def _too_deep() -> str:
    return _("values nested too deeply: expected at most {levels} levels of arrays and "
             "tables").format(levels=MAX_NESTING)


def load_toml(path: Path, name: str | None = None) -> TomlDoc:
    """Read and parse `path`; raise `TomlProblem` with file:line on any failure."""
    shown = name or display_path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise TomlProblem(Problem(shown, 0, _("file not found"))) from None
    except IsADirectoryError:
        raise TomlProblem(Problem(shown, 0, _("is a directory, expected a TOML file"))) from None
    except OSError as exc:
        raise TomlProblem(Problem(shown, 0, _("cannot read: {reason}").format(
            reason=exc.strerror))) from None
    except ValueError:  # a NUL in the name
        raise TomlProblem(Problem(shown.replace("\x00", "\\u0000"), 0,
                                  _("is not a usable path: it contains a NUL character"))) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TomlProblem(Problem(shown, line, _("not valid UTF-8 text"))) from None
    text = text.removeprefix("\ufeff")
    try:
        data = parse_toml(text)
    except TOMLDecodeError as exc:
        message = str(exc)
        match = _DECODE_LINE.search(message)
        line = int(match.group(1)) if match else 0
        reason = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", message)
        raise TomlProblem(Problem(shown, line, _("TOML syntax error: {reason}").format(
            reason=reason))) from None
    except RecursionError:
        raise TomlProblem(Problem(shown, _deep_line(text), _too_deep())) from None
    if _depth(data) > MAX_NESTING:
        raise TomlProblem(Problem(shown, _deep_line(text), _too_deep()))
    return TomlDoc(path=path, name=shown, data=data, text=text, headers=_locate_headers(text))


# No lichnhac file nests deeper than a few levels; deeper values are refused before any
# code walks them (a walk could hit Python's recursion limit).
MAX_NESTING = 32


def _depth(value: Any, level: int = 0) -> int:
    """How deep arrays and tables nest in `value`, counted up to MAX_NESTING + 1."""
    if level > MAX_NESTING:
        return level
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return level
    deepest = level
    for child in children:
        # A scalar child is one level down; only containers are walked (most values of a
        # national config are strings: no call per string).
        below = _depth(child, level + 1) if isinstance(child, dict | list) else level + 1
        if below > deepest:
            deepest = below
            if deepest > MAX_NESTING:
                break
    return deepest


def _deep_line(text: str) -> int:
    """The first line where brackets and braces open more than MAX_NESTING deep."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        for char in line:
            if char in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    return number
            elif char in "]}":
                depth = max(0, depth - 1)
    return 1


class TomlProblem(Exception):
    """A file could not be read or parsed at all (one problem, nothing else checked)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))

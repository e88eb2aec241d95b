"""Validating reads from a parsed TOML document, collecting every problem.

Config and calendar parsers use a `Reader` so each error carries file, line, key, value
and what was expected, and so parsing goes on after an error to report all of them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any, TypeVar

from scheduler.converters import kind_name, quoted, type_name
from scheduler.errors import Problem
from scheduler.i18n import _
from scheduler.tomlfile import PathKey, TomlDoc

T = TypeVar("T")
_MISSING = object()


class Reader:
    """Reads values out of one `TomlDoc`, appending problems to a shared list."""

    def __init__(self, doc: TomlDoc, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems
        self._translated: dict[str, str] = {}

    def translate(self, msgid: str) -> str:
        """`_(msgid)`, looked up once per reader: labels built for every one of 33,550
        units (marked with `N_` where written) cost one catalog lookup per file."""
        found = self._translated.get(msgid)
        if found is None:
            found = self._translated[msgid] = _(msgid)
        return found

    def error(self, path: PathKey, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def warning(self, path: PathKey, message: str) -> None:
        self.problems.append(self.doc.problem(path, message, severity="warning"))

    def check_keys(self, path: PathKey, table: dict[str, Any], allowed: Collection[str],
                   where: str) -> None:
        """Report every key of `table` that is not in `allowed`, with a suggestion."""
        for key in table:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
            hint = _(', did you mean "{key}"?').format(key=close[0]) if close else (
                _("; expected one of: {keys}").format(keys=", ".join(sorted(allowed))))
            self.error((*path, key), _('unknown key "{key}" in {where}{hint}')
                       .format(key=key, where=where, hint=hint))

    def table(self, path: PathKey, parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = parent.get(key, {})
        if isinstance(value, dict):
            return value
        self.error((*path, key), _("{where}: {key} must be a table, not {type}")
                   .format(where=where, key=key, type=type_name(value)))
        return {}

    def value(self, path: PathKey, table: dict[str, Any], key: str, kind: type | tuple[type, ...],
              where: str, default: Any = _MISSING) -> Any:
        """The raw value of `key` if it has the right TOML type; else report and default."""
        if key not in table:
            if default is _MISSING:
                self.error(path, _('{where}: missing key "{key}"').format(where=where, key=key))
                return None
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # TOML booleans are Python ints: never let `true` pass for a number; a date-time
        # is a Python date: never let it pass for a date.
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds) \
                or (isinstance(value, datetime) and datetime not in kinds):
            expected = _(" or ").join(kind_name(k) for k in kinds)
            self.error((*path, key), _("{where}: {key} {value} is {type}, expected {expected}")
                       .format(where=where, key=key, value=quoted(value),
                               type=type_name(value), expected=expected))
            return None if default is _MISSING else default
        return value

    def convert(self, path: PathKey, key: str, value: Any, converter: Callable[[Any], T],
                where: str, line_path: PathKey | None = None) -> T | None:
        """Apply `converter`; on ValueError report `<where>: <key> <value> <reason>`."""
        try:
            return converter(value)
        except ValueError as exc:
            self.error(line_path or (*path, key), f"{where}: {key} {quoted(value)} {exc}")
            return None
        except TypeError:  # a converter that forgot a type: still the user's value
            self.error(line_path or (*path, key),
                       _("{where}: {key} {value} is {type}: not the expected type")
                       .format(where=where, key=key, value=quoted(value), type=type_name(value)))
            return None

    def string_list(self, path: PathKey, table: dict[str, Any], key: str, where: str,
                    allow_single: bool = True) -> list[str]:
        """A list of strings (a single string counts as a one-element list)."""
        value = table.get(key, [])
        if allow_single and isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        self.error((*path, key), _("{where}: {key} must be a list of strings, not {type}")
                   .format(where=where, key=key, type=type_name(value)))
        return []

    def each_string(self, path: PathKey, key: str, values: Iterable[str],
                    converter: Callable[[str], T], where: str) -> list[T]:
        out: list[T] = []
        line_path = (*path, key)
        for item in values:
            try:
                out.append(converter(item))
            except (ValueError, TypeError) as exc:
                line = self.doc.line_of_value(line_path, item)
                self.problems.append(Problem(self.doc.name, line,
                                             f"{where}: {key} {quoted(item)} {exc}"))
        return out

"""Finding a unit the way officers type: without diacritics, in any case, by an old name
(alias) or by its usual abbreviation.

"phu nu", "PHU NU" and "Phụ nữ" all find "Hội Liên hiệp Phụ nữ xã"; "lđtbxh" and
"ldtbxh" find the unit whose alias is "Phòng Lao động - Thương binh và Xã hội". The
folding is the importer's (`scheduler.importer.text.fold`: NFD marks stripped, đ/Đ → d,
which decomposition misses); abbreviations are the importer's table too
(`ldtbxh` → "lao dong thuong binh va xa hoi"), plus the initials of each name ("hlhpn").

A unit matches when every word of the query starts a word of its folded name, id or
aliases (in any order; a known abbreviation may stand for its words), or when the whole query,
without spaces, is part of the initials of one of its names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from scheduler.importer.text import fold
from scheduler.importer.units import _ABBREVIATIONS
from scheduler.model import Unit

# Joining words an abbreviation leaves out: "Lao động – Thương binh và Xã hội" → LĐTBXH.
_CONNECTIVES = frozenset({"va", "cua", "voi"})
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """The folded words of `text`: lowercase ASCII letters and digits."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class UnitKeys:
    """What a unit can be found by."""

    text: str                    # " name words | alias words | id words ", folded
    initials: tuple[str, ...]    # one per name or alias: "hlhpnx"


@lru_cache(maxsize=65536)
def unit_keys(unit: Unit) -> UnitKeys:
    """The search keys of `unit` (cached: a unit is immutable)."""
    names = (unit.name, *unit.aliases)
    parts = [" ".join(words(name)) for name in (*names, unit.id.replace("-", " "))]
    initials = tuple("".join(w[0] for w in words(name) if w not in _CONNECTIVES)
                     for name in names)
    return UnitKeys(" " + " | ".join(parts) + " ", initials)


def _token_matches(token: str, keys: UnitKeys) -> bool:
    if f" {token}" in keys.text:  # the start of a word: "an" is not found in "van"
        return True
    expansion = _ABBREVIATIONS.get(token)
    return expansion is not None and f" {expansion} " in keys.text


def matches(query: str, unit: Unit) -> bool:
    """Whether `unit` is what someone typing `query` looks for (an empty query: every unit)."""
    tokens = words(query)
    if not tokens:
        return True
    keys = unit_keys(unit)
    if all(_token_matches(token, keys) for token in tokens):
        return True
    compact = "".join(tokens)
    return len(compact) >= 2 and any(compact in initials for initials in keys.initials)


def search(query: str, units: Iterable[Unit]) -> list[Unit]:
    """The units matching `query`, in their given order."""
    return [unit for unit in units if matches(query, unit)]


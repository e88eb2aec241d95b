"""Recognising the national calendar's observances, action months and deadlines in a plan.

A plan writes `Tháng hành động về bình đẳng giới và phòng chống bạo lực trên cơ sở giới`
where the national calendar says `... vì bình đẳng giới và phòng ngừa, ứng phó với ...`:
names are compared by the share of the national title's word pairs found in the text. A
date alone (`8/3`) is enough when exactly one national observance falls on it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from scheduler.importer.text import fold
from scheduler.model import Event, YearlyDate, YearlyMonth, YearlySpan, month_end

# The shape of a yearly date rule, for comparing plan dates with national ones.
Shape = tuple[object, ...]
_STOP = {"vi", "ve", "va", "voi", "cua", "cac", "tren", "doi", "cho", "nhung", "la", "mot"}
_DEADLINE_NOISE = {"han", "gui", "nop", "cong", "tac", "binh", "dang", "gioi", "ve"}
NAME_THRESHOLD = 0.6


@functools.lru_cache(maxsize=256)
def _word_set(text: str) -> frozenset[str]:
    return frozenset(w for w, _, _ in _tokens(text))


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """(folded word, start, end) of the content words of `text`; `06` reads as `6`."""
    out = []
    folded = fold(text)
    same = len(folded) == len(text)  # true for NFC Vietnamese: one base letter per letter
    for match in re.finditer(r"\w+", text):
        word = folded[match.start():match.end()] if same else fold(match.group())
        if word.isdigit():
            word = str(int(word))
        if word not in _STOP:
            out.append((word, match.start(), match.end()))
    return out


def _pairs(words: list[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(words))


def shape_of(event: Event) -> Shape | None:
    """The shape of a national event's yearly rule (None for other rules)."""
    rule = event.rule
    if isinstance(rule, YearlyDate):
        return ("day", rule.month, rule.day)
    if isinstance(rule, YearlyMonth):
        return ("month", rule.month)
    if isinstance(rule, YearlySpan):
        (sm, sd), (em, ed) = rule.start, rule.end
        if sm == em and sd == 1 and ed == month_end(2023, em).day:
            return ("month", sm)
        return ("span", sm, sd, em, ed)
    return None


def rule_keys(event: Event) -> dict[str, object]:
    """The calendar-file keys of a national event's yearly rule."""
    rule = event.rule
    if isinstance(rule, YearlyDate):
        return {"date": f"{rule.month:02d}-{rule.day:02d}"}
    if isinstance(rule, YearlyMonth):
        return {"month": rule.month}
    assert isinstance(rule, YearlySpan)
    return {"start": "{:02d}-{:02d}".format(*rule.start), "end": "{:02d}-{:02d}".format(*rule.end)}


@dataclass(frozen=True)
class Known:
    event: Event
    shape: Shape
    words: tuple[str, ...]


@dataclass(frozen=True)
class NameHit:
    known: Known
    start: int
    end: int
    score: float


class KnownEvents:
    """The events of the national calendar (and a config's calendars) a plan may name."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.items: list[Known] = []
        seen: set[str] = set()
        for event in events:
            shape = shape_of(event)
            if shape is None or event.id in seen:
                continue
            seen.add(event.id)
            self.items.append(Known(event, shape, tuple(w for w, _, _ in _tokens(event.title))))
        self._heads = {(k.words[0], k.words[1]) for k in self.items if len(k.words) >= 2}

    def names_in(self, text: str) -> list[NameHit]:
        """The national observances and campaigns named in `text`, best match per place."""
        folded = fold(text)
        if not any(f"{a} {b}" in folded for a, b in self._heads):
            return []
        tokens = _tokens(text)
        heads = self._heads
        hits: list[NameHit] = []
        index = 0
        while index < len(tokens) - 1:
            best: NameHit | None = None
            for known in self.items:
                if known.event.kind == "deadline" or len(known.words) < 2:
                    continue
                if (tokens[index][0], tokens[index + 1][0]) != known.words[:2]:
                    continue
                window = tokens[index:index + len(known.words) + 3]
                for cut in range(2, len(window) - 1):  # another name starts: stop there
                    if (window[cut][0], window[cut + 1][0]) in heads:
                        window = window[:cut]
                        break
                wanted = _pairs(list(known.words))
                found = _pairs([w for w, _, _ in window])
                score = len(wanted & found) / len(wanted)
                if score >= NAME_THRESHOLD and (best is None or score > best.score):
                    used = [t for t in window if any(t[0] in p for p in wanted & found)]
                    best = NameHit(known, tokens[index][1], used[-1][2], score)
            if best:
                hits.append(best)
                while index < len(tokens) and tokens[index][1] < best.end:
                    index += 1
            else:
                index += 1
        return hits

    def by_shape(self, shape: Shape) -> list[Known]:
        """The known events on exactly this date, span or month."""
        return [k for k in self.items if k.shape == shape]

    def deadline_for(self, shape: Shape, sentence: str, clause: str) -> Known | None:
        """A national deadline on the same day: the sentence is about a report (`báo cáo`)
        and the date's own clause names its period (`6 tháng`, `năm` but not `năm 2024`).
        """
        words = _word_set(sentence)  # the same sentence for each of its dates
        tokens = [w for w, _, _ in _tokens(clause)]
        # "năm 2024" is a year, not the yearly report's period.
        periods = {w for i, w in enumerate(tokens)
                   if not (w == "nam" and i + 1 < len(tokens) and tokens[i + 1].isdigit())}
        for known in self.by_shape(shape):
            if known.event.kind != "deadline":
                continue
            core = [w for w in known.words if w not in _DEADLINE_NOISE]
            period = [w for w in core if w not in {"bao", "cao"}]
            if core and all(w in words for w in core) and all(w in periods for w in period):
                return known
        return None

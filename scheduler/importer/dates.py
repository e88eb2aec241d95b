"""Finding the date expressions of Vietnamese administrative text.

Recognised (after `text.clean_line`, so every dash is `-`):
a day `08/3`, `8-3`, `ngày 28 tháng 6`; a dated day `10/6/2024`, `ngày 05 tháng 12 năm
2026`; a span `từ ngày 15/11 đến 15/12/2024`, `15/11-15/12`, `từ ngày 1 đến ngày 7/6`;
a whole month `tháng 6`, `tháng 7/2026`, `tháng 7 năm 2026`; and the day of a quarter or
a month (`ngày 20 của tháng cuối quý`, `hằng tháng ... ngày 25`) as an RRULE.
This module only reads what is written; `extract` decides years and whether it is an event.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

# (year or None, month, day); day 0 means the whole month.
PartialDate = tuple[int | None, int, int]

_QUARTER_MONTHS = {"đầu": "1,4,7,10", "giữa": "2,5,8,11", "thứ hai": "2,5,8,11",
                   "cuối": "3,6,9,12"}
QUARTERLY = re.compile(r"\b(?:hằng|hàng|mỗi|từng|theo)\s+quý\b|\bđịnh kỳ\s+(?:hằng\s+|hàng\s+)?quý"
                       r"|\bbáo cáo quý\b", re.IGNORECASE)
MONTHLY = re.compile(r"\b(?:hằng|hàng|mỗi|từng)\s+tháng\b|\bđịnh kỳ\s+(?:hằng\s+|hàng\s+)?tháng\b",
                     re.IGNORECASE)


_DIGIT = re.compile(r"\d|quý", re.IGNORECASE)


def _numeric(p: str) -> str:
    return (rf"(?<![\d/.,])(?P<{p}d>\d{{1,2}})(?P<{p}s>[/.-])(?P<{p}m>\d{{1,2}})"
            rf"(?:(?P={p}s)(?P<{p}y>\d{{4}}))?(?!\d)(?!/\d)(?!-\d{{1,2}}\b(?![/.-]))")


def _worded(p: str) -> str:
    return (rf"ngày\s+(?P<{p}wd>\d{{1,2}})\s+tháng\s+(?P<{p}wm>\d{{1,2}})(?!\d)"
            rf"(?:\s*(?:,\s*)?(?:năm|/)\s*(?P<{p}wy>\d{{4}}))?")


def _day(p: str) -> str:
    return rf"(?:{_worded(p + 'w')}|(?:ngày\s+)?{_numeric(p + 'n')})"


_TO = r"\s*(?:-|đến(?:\s+hết)?|tới|cho đến)\s*(?:hết\s+)?"
_PATTERN = re.compile(
    "|".join([
        r"(?P<quarter>ngày\s+(?P<qd>\d{1,2})\s+(?:của\s+)?tháng\s+"
        r"(?P<qpos>đầu|giữa|thứ hai|cuối)\s+(?:của\s+)?(?:mỗi\s+|từng\s+)?quý"
        r"(?P<qnext>\s+(?:sau|tiếp theo|kế tiếp))?)",
        rf"(?P<span>(?:từ\s+)?{_day('a')}{_TO}{_day('b')})",
        rf"(?P<bspan>(?:từ\s+(?:ngày\s+)?|ngày\s+|(?<![\d/.,]))(?P<bsd>\d{{1,2}}){_TO}"
        rf"{_day('c')})",
        rf"(?P<single>{_day('s')})",
        r"(?P<mspan>(?:từ\s+)?tháng\s+(?P<ma>\d{1,2})(?:\s*/\s*(?P<may>\d{4}))?\s*"
        r"(?:-|đến|tới)\s*(?:hết\s+)?(?:tháng\s+(?P<mb>\d{1,2})|(?P<mb2>\d{1,2})(?=\s*/\s*\d{4}))"
        r"(?:\s*/\s*(?P<mby>\d{4})|\s+năm\s+(?P<mby2>\d{4}))?(?![\d/]))",
        r"(?P<qspan>(?<!\w)quý\s+(?P<qn>IV|III|II|I|[1-4])(?:\s*/\s*(?P<qy>\d{4})|\s+năm\s+"
        r"(?P<qy2>\d{4}))?(?![\w/]))",
        r"(?P<month>(?<!\d\s)tháng\s+(?P<mm>\d{1,2})(?:\s*/\s*(?P<my>\d{4})|\s+năm\s+"
        r"(?P<my2>\d{4}))?(?![\d/]))",
        r"(?P<bare>ngày\s+(?P<bd>\d{1,2})(?!\s*(?:tháng|[/.-]\s*\d))\b)",
    ]),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Mention:
    """One date expression: a day, a span (`last` set), a whole month (day 0) or an RRULE."""

    start: int
    end: int
    text: str
    first: PartialDate
    last: PartialDate | None = None
    rrule: str | None = None

    @property
    def whole_month(self) -> bool:
        """Whether the mention is a whole month (day 0)."""
        return self.first[2] == 0


_QUARTERS = {"I": 1, "II": 2, "III": 3, "IV": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def _month_end(month: int, year: int | None = None) -> int:
    return calendar.monthrange(year or 2023, month)[1]


def _valid(year: int | None, month: int, day: int) -> bool:
    try:
        date(year or 2024, month, day or 1)
    except ValueError:
        return False
    return True


def _read_day(match: re.Match[str], p: str) -> PartialDate | None:
    groups = match.groupdict()
    if groups.get(f"{p}wwd"):
        day, month, year = groups[f"{p}wwd"], groups[f"{p}wwm"], groups[f"{p}wwy"]
    elif groups.get(f"{p}nd"):
        day, month, year = groups[f"{p}nd"], groups[f"{p}nm"], groups[f"{p}ny"]
        if groups[f"{p}ns"] == "." and not year:
            return None  # "1.2" is a section number, not 1 February
    else:
        return None
    value = (int(year) if year else None, int(month), int(day))
    return value if _valid(*value) else None


def _span(first: PartialDate, last: PartialDate) -> tuple[PartialDate, PartialDate]:
    """Lend the year written on one end to the other (15/11 - 15/12/2024)."""
    (fy, fm, fd), (ly, lm, ld) = first, last
    if fy is None and ly is not None:
        fy = ly if (fm, fd) <= (lm, ld) else ly - 1
    elif ly is None and fy is not None:
        ly = fy if (lm, ld) >= (fm, fd) else fy + 1
    return (fy, fm, fd), (ly, lm, ld)


def find_dates(text: str) -> list[Mention]:
    """Every date expression in `text`, left to right."""
    found: list[Mention] = []
    if not _DIGIT.search(text):
        return found  # most sentences of a plan: no date to look for
    quarterly = bool(QUARTERLY.search(text))
    monthly = bool(MONTHLY.search(text))
    for match in _PATTERN.finditer(text):
        kind = match.lastgroup
        start, end = match.span()
        if match.group("quarter"):
            months = _QUARTER_MONTHS[match.group("qpos").lower()]
            if match.group("qnext") and match.group("qpos").lower() == "đầu":
                months = "1,4,7,10"
            day = int(match.group("qd"))
            if 1 <= day <= 28 or (day <= 30 and "2" not in months.split(",")):
                found.append(Mention(start, end, match.group(), (None, 0, day),
                                     rrule=f"FREQ=YEARLY;BYMONTH={months};BYMONTHDAY={day}"))
            continue
        if match.group("span") or match.group("bspan"):
            if match.group("span"):
                first, last = _read_day(match, "a"), _read_day(match, "b")
            else:
                last = _read_day(match, "c")
                first = (None, last[1], int(match.group("bsd"))) if last else None
                if first and not _valid(*first):
                    first = None
            if first and last:
                first, last = _span(first, last)
                if first[0] is not None and last[0] is not None and \
                        date(first[0], first[1], first[2]) > date(last[0], last[1], last[2]):
                    continue
                found.append(Mention(start, end, match.group(), first, last))
            continue
        if match.group("single"):
            day_value = _read_day(match, "s")
            if day_value:
                found.append(Mention(start, end, match.group(), day_value))
            continue
        if match.group("mspan"):
            first_month = int(match.group("ma"))
            last_month = int(match.group("mb") or match.group("mb2"))
            last_year = match.group("mby") or match.group("mby2")
            first_year = match.group("may") or last_year
            if 1 <= first_month <= 12 and 1 <= last_month <= 12 and (
                    first_month <= last_month or match.group("may")):
                first_value = (int(first_year) if first_year else None, first_month, 1)
                last_value = (int(last_year) if last_year else None, last_month,
                              _month_end(last_month, int(last_year) if last_year else None))
                found.append(Mention(start, end, match.group(), first_value, last_value))
            continue
        if match.group("qspan"):
            number = _QUARTERS[match.group("qn").upper()]
            year = match.group("qy") or match.group("qy2")
            value = int(year) if year else None
            found.append(Mention(start, end, match.group(), (value, 3 * number - 2, 1),
                                 (value, 3 * number, _month_end(3 * number))))
            continue
        if match.group("month"):
            month = int(match.group("mm"))
            year = match.group("my") or match.group("my2")
            if 1 <= month <= 12:
                found.append(Mention(start, end, match.group(),
                                     (int(year) if year else None, month, 0)))
            continue
        if kind == "bare" or match.group("bare"):
            day = int(match.group("bd"))
            if not 1 <= day <= 31:
                continue
            if quarterly:
                found.append(Mention(start, end, match.group(), (None, 0, day),
                                     rrule=f"FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY={day}"))
            elif monthly:
                found.append(Mention(start, end, match.group(), (None, 0, day),
                                     rrule=f"FREQ=MONTHLY;BYMONTHDAY={day}"))
    return found

"""Where a date's task and units are written apart from the date itself.

Plans often put the date in its own slot: a table row (`STT | Nội dung | Đơn vị chủ trì |
Thời gian`, from .docx or Markdown), or a label line under the task (`+ Thời gian: Quý
II/2025`, `+ Đơn vị chủ trì: Phòng Văn hóa - Xã hội`). These helpers find the task's
wording and the responsible units for such dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scheduler.importer.dates import Mention, find_dates
from scheduler.importer.text import LIST_MARKER, Paragraph, sentences
from scheduler.importer.units import ORG_START, split_names

TIME_LABEL = re.compile(r"^(?:[Tt]hời gian|[Tt]hời hạn|[Tt]iến độ|[Tt]hời điểm|[Hh]ạn)"
                        r"(?:\s+(?:thực hiện|tổ chức|hoàn thành|triển khai|báo cáo|gửi|dự kiến"
                        r"|diễn ra|bắt đầu))*\s*:")
_LABEL = re.compile(r"^(?:[Đđ]ơn vị|[Cc]ơ quan|[Bb]ộ phận|[Kk]inh phí|[Ss]ản phẩm|[Nn]ội dung"
                    r"|[Đđ]ịa điểm|[Tt]hành phần|[Đđ]ối tượng|[Tt]hời gian|[Tt]hời hạn|[Hh]ình thức"
                    r"|[Pp]hối hợp|[Cc]hủ trì|[Tt]iến độ|[Kk]ết quả)[^:]{0,30}:")
_OWNER = re.compile(r"(?:[Đđ]ơn vị|[Cc]ơ quan|[Bb]ộ phận)\s+(?:chủ trì|thực hiện|thường trực"
                    r"|đầu mối|chịu trách nhiệm)\s*:\s*([^;.|]+)")


@dataclass(frozen=True)
class Cell:
    start: int
    end: int
    text: str


def table_cells(sentence: str) -> list[Cell] | None:
    """The cells of a table row written `a | b | c`, or None for running text."""
    if sentence.count("|") < 2:
        return None
    cells: list[Cell] = []
    position = 0
    for piece in sentence.split("|"):
        text = piece.strip()
        if text:
            start = sentence.index(text, position)
            cells.append(Cell(start, start + len(text), text))
        position += len(piece) + 1
    return cells


def _body(text: str) -> str:
    return LIST_MARKER.sub("", text.strip(), count=1).strip()


def row_task(cells: list[Cell], date_start: int) -> str | None:
    """The row's wording of the task: its first cell with words that is not a unit."""
    for cell in cells:
        if cell.start <= date_start < cell.end or find_dates(cell.text):
            continue
        text = cell.text
        if len(text.split()) >= 2 and not ORG_START.match(text) and not text.isdigit():
            return text
    return None


def row_units(cells: list[Cell], task: str | None) -> list[str]:
    """Unit names in the cells of a row other than the task and the date."""
    names: list[str] = []
    for cell in cells:
        if cell.text != task and not find_dates(cell.text) and ORG_START.match(cell.text):
            names += split_names(cell.text)
    return names


def date_heading(text: str) -> Mention | None:
    """`Tháng 3:`, `Quý II/2026:`, `2. Tháng 11 năm 2026`: a heading that dates a list."""
    body = re.sub(r"^(?:[IVXLC]{1,6}|\d{1,2}|[a-zđ])[.)]\s*", "", text.strip()).strip(" :.")
    body = re.sub(r"^(?:Trong\s+|trong\s+)", "", body)
    found = find_dates(body)
    if len(found) != 1 or found[0].rrule or found[0].first[2] not in (0, 1):
        return None
    mention = found[0]
    if mention.first[2] == 1 and not mention.last:
        return None
    return mention if body == mention.text else None


def is_time_label(sentence: str) -> bool:
    """Whether the sentence is a `Thời gian: ...` line."""
    return bool(TIME_LABEL.match(_body(sentence)))


def task_before(paras: list[Paragraph], index: int, earlier: list[str]) -> str | None:
    """The task a `Thời gian: ...` line belongs to: the nearest earlier non-label text."""
    for text in reversed(earlier):
        if not _LABEL.match(_body(text)):
            return text
    for back in range(index - 1, max(index - 6, -1), -1):
        text = paras[back].text
        if not _LABEL.match(_body(text)):
            parts = sentences(paras[back])
            return parts[0][1] if parts else text
    return None


def owner_names(paras: list[Paragraph], index: int, sentence: str) -> list[str]:
    """Units named by `Đơn vị chủ trì: ...` in the sentence or the label lines around it."""
    texts = [sentence]
    labelled = bool(_LABEL.match(_body(paras[index].text)))
    # Labels below a task are its own; above a label line, they belong to the same task.
    for step in ((-1, 1) if labelled else (1,)):
        near = index + step
        while 0 <= near < len(paras) and _LABEL.match(_body(paras[near].text)):
            texts.append(paras[near].text)
            near += step
    names: list[str] = []
    for text in texts:
        for match in _OWNER.finditer(text):
            names += [n for n in split_names(match.group(1).strip()) if ORG_START.match(n)]
    return names

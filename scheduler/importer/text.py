"""Text hygiene for plan documents: one clean paragraph per sentence group, with line map.

Plans arrive NFC or NFD (PDF copies), with non-breaking spaces, three kinds of dash,
Markdown emphasis and hard line breaks in the middle of sentences. Everything downstream
works on `Paragraph.text`, which is NFC, single-spaced and uses `-` for every dash;
`Paragraph.line_at(offset)` maps a position back to the line of the original file.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_INVISIBLE: dict[int, str | None] = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Control characters (a TOML comment may not hold them) become spaces.
_INVISIBLE.update((code, " ") for code in [*range(0, 32), 127])
_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_MD_HEADING = re.compile(r"^#{1,6}\s*")
_MD_QUOTE = re.compile(r"^>\s?")
_MD_BULLET = re.compile(r"^[*•·▪●◦]\s+")
_MD_ESCAPE = re.compile(r"\\([-\\`*_{}\[\]()#+.!|>])")
_EMPHASIS = re.compile(r"\*+|(?<!\w)_{1,3}|_{1,3}(?!\w)")
_MULTI_SPACE = re.compile(r" {2,}")
_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
_PAGE_NUMBER = re.compile(r"^(?:-\s*)?\d{1,3}(?:\s*-)?$"
                          r"|^(?:Trang|trang)\s+\d{1,3}(?:\s*/\s*\d{1,3})?$")
# A paragraph that opens a list item or a numbered heading: never glued to the line above.
LIST_MARKER = re.compile(
    r"^(?:[-+•]\s|\d{1,2}(?:\.\d{1,2})*[.)]\s|[a-zđ][.)]\s|[IVXLC]{1,6}[.)]\s)")
# Words a sentence cannot end on: a line ending with one is wrapped, not finished.
_OPEN_WORDS = frozenset({"về", "và", "của", "cho", "với", "các", "những", "tại", "theo", "trong",
                         "đến", "từ", "để", "là", "được", "có", "số", "hoặc", "qua", "như",
                         "nhằm", "do", "bởi", "vào", "trên", "dưới", "giữa", "gửi", "ngày"})
OPEN_WORDS = _OPEN_WORDS
_OPENING = re.compile(r"^(?:Căn cứ|Thực hiện (?:Kế hoạch|Công văn|Quyết định|Chỉ thị|Nghị quyết"
                      r"|Hướng dẫn|Chương trình|Thông báo)|Trên đây|Nơi nhận|Kính gửi)\b")
_SENTENCE_END = (".", ":", ";", "!", "?", "./.")


def clean_line(raw: str) -> str:
    """One line made NFC, single-spaced, with plain dashes and no Markdown markup."""
    text = unicodedata.normalize("NFC", raw).translate(_INVISIBLE)
    text = _SPACES.sub(" ", text).strip()
    text = _DASHES.sub("-", text)
    text = _MD_QUOTE.sub("", text)
    text = _MD_HEADING.sub("", text)
    text = _MD_BULLET.sub("- ", text)
    text = _MD_ESCAPE.sub(r"\1", text)
    text = _HTML_BREAK.sub(" | " if text.lstrip().startswith("|") else " ", text)
    text = _HTML_TAG.sub("", text)
    text = _EMPHASIS.sub("", text)
    return _MULTI_SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class Paragraph:
    """Consecutive source lines joined into one logical paragraph."""

    text: str
    offsets: tuple[int, ...]  # where each joined piece starts in `text`
    lines: tuple[int, ...]  # the 1-based source line of each piece

    @property
    def line(self) -> int:
        """The source line the paragraph starts on."""
        return self.lines[0]

    def line_at(self, offset: int) -> int:
        """The source line holding the character at `offset`."""
        index = bisect.bisect_right(self.offsets, offset) - 1
        return self.lines[max(index, 0)]


def _continues(previous: str, following: str, blank_between: bool, last_line: int = 0,
               width: int = 70) -> bool:
    """Whether `following` carries on the sentence `previous` left open.

    `last_line` is the length of the previous source line; `width` the text's usual line
    length, so a line that stops well short of it ended its paragraph.
    """
    if previous.endswith(_SENTENCE_END) or LIST_MARKER.match(following):
        return False
    if _OPENING.match(following):  # "Căn cứ ...", "Thực hiện ...": a new paragraph
        return False
    if previous.endswith("|") or following.startswith("|"):  # table rows stay rows
        return False
    first = following[0]
    if first.islower() or (first.isdigit() and not blank_between):
        return True
    if first.isdigit():  # "... ngày" / blank / "30/11/2021 của ..." (a page break)
        return previous.split()[-1].lower() in {"ngày", "từ", "đến", "số", "tháng", "năm"}
    if not blank_between and (previous.endswith(",") or
                              previous.rsplit(" ", 1)[-1].lower() in _OPEN_WORDS):
        return True  # "... gửi báo cáo về" / "UBND xã ...": a line cannot end there
    # A wrapped line of a PDF: as long as the others, no final punctuation.
    return not blank_between and (last_line or len(previous)) >= width and not previous.isupper()


def paragraphs(lines: Iterable[str], separate: bool = False,
               line_numbers: Sequence[int] | None = None) -> list[Paragraph]:
    """Join cleaned lines into paragraphs; a blank line ends one unless a sentence spans it.

    With `separate` every line counts as followed by a blank one (Word paragraphs);
    `line_numbers` gives the source line of each line when it is not its 1-based index.
    """
    cleaned = [clean_line(raw) for raw in lines]
    lengths = sorted(len(line) for line in cleaned if line)
    # Lines of wrapped text fill the width; a paragraph's last line stops short of it.
    width = max(int(0.85 * lengths[int(0.9 * (len(lengths) - 1))]), 40) if lengths else 70
    found: list[Paragraph] = []
    text = ""
    offsets: list[int] = []
    numbers: list[int] = []
    blank = False
    last_line = 0

    def flush() -> None:
        nonlocal text, offsets, numbers
        if text:
            found.append(Paragraph(text, tuple(offsets), tuple(numbers)))
        text, offsets, numbers = "", [], []

    for index, line in enumerate(cleaned):
        number = line_numbers[index] if line_numbers is not None else index + 1
        if _PAGE_NUMBER.match(line):
            line = ""  # a page number of a PDF or a printed copy
        if not line:
            blank = True
            continue
        # The paragraph's tail is enough to judge how it ends (and keeps joining linear).
        if text and _continues(text[-300:], line, blank or separate, last_line, width):
            text += " "
            offsets.append(len(text))
            numbers.append(number)
            text += line
        else:
            flush()
            text, offsets, numbers = line, [0], [number]
        blank = False
        last_line = len(line)
    flush()
    return found


_MARKER_ONLY = re.compile(r"^\s*(?:\d{1,2}(?:\.\d{1,2})*|[a-zđA-Z]|[IVXLC]{1,6})\.$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"“(]?[A-ZÀ-ỸĐ0-9])")


def sentences(paragraph: Paragraph) -> list[tuple[int, str]]:
    """(offset, sentence) pairs of a paragraph; none longer than `MAX_SENTENCE`."""
    return [part for offset, piece in _sentences(paragraph) for part in _bounded(offset, piece)]


# Real sentences stay far below this; a longer run (a pasted table, a 2 MB line) is cut at
# "; " or spaces so reading it stays linear in its length.
MAX_SENTENCE = 1500


def _bounded(offset: int, text: str) -> list[tuple[int, str]]:
    parts: list[tuple[int, str]] = []
    while len(text) > MAX_SENTENCE:
        cut = text.rfind("; ", 0, MAX_SENTENCE)
        if cut < MAX_SENTENCE // 3:
            cut = text.rfind(" ", 0, MAX_SENTENCE)
        cut = cut + 1 if cut > 0 else MAX_SENTENCE
        parts.append((offset, text[:cut]))
        offset, text = offset + cut, text[cut:]
    parts.append((offset, text))
    return parts


def _sentences(paragraph: Paragraph) -> list[tuple[int, str]]:
    result: list[tuple[int, str]] = []
    start = 0
    for match in _SENTENCE_SPLIT.finditer(paragraph.text):
        piece = paragraph.text[start:match.start()]
        if _MARKER_ONLY.match(piece) or (len(piece.split()) == 1 and piece.endswith(".")):
            continue  # "1. Tổ chức ..." and "TS. Nguyễn": not a sentence end
        if piece.strip():
            result.append((start, piece))
        start = match.end()
    tail = paragraph.text[start:]
    if tail.strip():
        result.append((start, tail))
    return result


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord("đ"): "d", ord("Đ"): "d"}
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", char.lower())
                       if not unicodedata.combining(c))
        if base != char:
            table[code] = base
    table.update(dict.fromkeys(range(0x0300, 0x0370)))  # combining marks of NFD text
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Lowercase ASCII: diacritics stripped, đ → d (for matching and ids)."""
    return text.lower().translate(_FOLD)


def slug(text: str, limit: int = 60) -> str:
    """An id of [a-z0-9-]: the folded words, cut at a word boundary near `limit`."""
    words = re.findall(r"[a-z0-9]+", fold(text))
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    return out or "muc"


def words(text: str) -> list[str]:
    """Folded words of `text`, punctuation dropped."""
    return re.findall(r"[a-z0-9]+", fold(text))

"""The layout of a plan: where the body ends, the organisation section and its units.

`TỔ CHỨC THỰC HIỆN` (or `PHÂN CÔNG NHIỆM VỤ`, `TRÁCH NHIỆM THỰC HIỆN`) runs to the next
roman-numeral heading, `Trên đây là ...` or `Nơi nhận`; each numbered item in it that
opens with a unit name makes that unit the owner of the paragraphs under it. `Nơi nhận`
adds its recipients; the signature after it is not part of the plan's content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scheduler.importer.identity import Identity
from scheduler.importer.text import LIST_MARKER, Paragraph
from scheduler.importer.units import UnitBook, item_unit_names, recipient_names

_ORG_HEADING = re.compile(
    r"^(?:[IVXLC]{1,6}[.)]\s*|\d{1,2}[.)]\s*|(?:Điều|Phần|Mục|PHẦN|MỤC)\s+[\dIVX]+[.:]?\s*)?"
    r"(?:(?:TỔ CHỨC THỰC HIỆN|Tổ chức thực hiện|PHÂN CÔNG|Phân công)(?:\s+(?:KẾ HOẠCH|Kế hoạch))?"
    r"\s*:?\s*$"
    r"|(?:PHÂN CÔNG|Phân công|TRÁCH NHIỆM|Trách nhiệm)\s+(?:NHIỆM VỤ|nhiệm vụ|TRÁCH NHIỆM|trách "
    r"nhiệm|THỰC HIỆN|thực hiện|CỦA CÁC|của các)[^.;]*$)")
_ROMAN_HEADING = re.compile(r"^[IVXLC]{1,6}[.)]\s+\S")
_NUMBERED = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*[.)]|[a-zđ][.)])\s")
_RECIPIENTS = re.compile(r"^Nơi nhận\s*:?", re.IGNORECASE)
_COORDINATOR = re.compile(r"cơ quan thường trực|thường trực|đầu mối", re.IGNORECASE)
# After the signature, content again: an appendix, or the plan a decision issues
# ("KẾ HOẠCH ... (Ban hành kèm theo Quyết định số ...)").
_APPENDIX = re.compile(r"^(?:PHỤ LỤC|Phụ lục)\b|^(?:KẾ HOẠCH|CHƯƠNG TRÌNH|HƯỚNG DẪN|ĐỀ ÁN)\b"
                       r"|^\(?(?:Ban hành|ban hành) kèm theo\b")
_CLOSING = re.compile(r"^Trên đây là\b")
# A portal page's article ends where its lists of other articles begin.
_END_OF_ARTICLE = re.compile(r"^(?:Tin liên quan|Tin khác|Các tin khác|Tin cùng chuyên mục"
                             r"|Bài viết liên quan|Bài liên quan|Các tin đã đưa|Tin đã đưa"
                             r"|Xem thêm|Tin mới hơn|Tin cũ hơn)\b", re.IGNORECASE)
_ADDRESSEES = re.compile(r"^Kính gửi\s*:?\s*", re.IGNORECASE)


@dataclass
class Layout:
    """Paragraph indexes: where content ends and who owns each organisation paragraph."""

    paras: list[Paragraph]
    body_end: int
    owners: dict[int, tuple[str, ...]] = field(default_factory=dict)
    coordinator: str | None = None  # the unit named "cơ quan thường trực" / "đầu mối"
    appendix: int | None = None  # "PHỤ LỤC" after the signature: content again

    def is_content(self, index: int) -> bool:
        """Whether paragraph `index` is the plan's content (not signature, not Nơi nhận)."""
        return index < self.body_end or (self.appendix is not None and index >= self.appendix)

    def lead_in(self, index: int) -> str | None:
        """The paragraph introducing a list item (`... cụ thể như sau:`), if close above."""
        for back in range(index - 1, max(index - 8, -1), -1):
            text = self.paras[back].text
            if text.endswith(":"):
                return text
            if not LIST_MARKER.match(text) and len(text) > 0 and back != index - 1:
                break
        return None


def read_layout(paras: list[Paragraph], identity: Identity, book: UnitBook,
                file: str) -> Layout:
    """Find the sections and register the units the plan names in `book`."""
    body_end = len(paras)
    org_start: int | None = None
    for index, para in enumerate(paras):
        if index < identity.body_start:
            continue
        text = para.text
        if _RECIPIENTS.match(text):
            body_end = index
            break
        if _END_OF_ARTICLE.match(text) and len(text) < 60:
            body_end = index
            break
        if org_start is None and len(text) < 80 and _ORG_HEADING.match(text):
            org_start = index
    layout = Layout(paras, body_end)
    _addressees(paras, identity, book, file)
    layout.appendix = next((i for i in range(body_end + 1, len(paras))
                            if _APPENDIX.match(paras[i].text)), None)
    if org_start is not None:
        _organisation(layout, org_start, book, file)
    if body_end < len(paras):
        # In a Word table the whole list is one cell: "Nơi nhận: - Như trên; - Sở ...; | KT. ..."
        cells = [c.strip() for c in paras[body_end].text.split("|")]
        listed = [_RECIPIENTS.sub("", cells[0], count=1)]
        for cell in cells[1:]:
            if not re.match(r"^[-+•]", cell):
                break  # the signature column
            listed.append(cell)
        for item in re.split(r"(?:^|[;.,]?\s+)[-+•]\s+", " ".join(listed)):
            for name in recipient_names(item, identity.issuer):
                book.add(name, file, paras[body_end].line)
    for para in paras[body_end + 1:]:
        if not re.match(r"^[-+•]", para.text):
            break
        for name in recipient_names(para.text, identity.issuer):
            book.add(name, file, para.line)
    return layout


def _addressees(paras: list[Paragraph], identity: Identity, book: UnitBook, file: str) -> None:
    """`Kính gửi: A; B` or `Kính gửi:` over a list: the letter's addressees are its units."""
    for index, para in enumerate(paras[:40]):
        found = _ADDRESSEES.match(para.text)
        if not found:
            continue
        items = [(para.text[found.end():], para.line)]
        for following in paras[index + 1:index + 40]:
            if not re.match(r"^[-+•]\s", following.text):
                break
            items.append((following.text, following.line))
        for text, line in items:
            for item in re.split(r"(?:^|[;.,]?\s+)[-+•]\s+|;\s*", text):
                for name in recipient_names(item, identity.issuer):
                    book.add(name, file, line)
        return


def _organisation(layout: Layout, start: int, book: UnitBook, file: str) -> None:
    owners: tuple[str, ...] = ()
    for index in range(start + 1, layout.body_end):
        para = layout.paras[index]
        text = para.text
        if _ROMAN_HEADING.match(text) or _CLOSING.match(text) or (
                text.isupper() and len(text) < 80 and not _NUMBERED.match(text)):
            break  # the next section (auto-numbered Word headings have no "V.")
        names, aliases = item_unit_names(text)
        if names or _NUMBERED.match(text) or not LIST_MARKER.match(text):
            if names:  # "2. Phòng Tư pháp: ...", "- Công an xã chủ trì ...", "Trạm Y tế:"
                units = [book.add(name, file, para.line, aliases if i == 0 else ())
                         for i, name in enumerate(names)]
                owners = tuple(dict.fromkeys(u.id for u in units))
                if layout.coordinator is None and _COORDINATOR.search(text[:300]):
                    layout.coordinator = units[0].id
            elif _NUMBERED.match(text) and re.match(r"^\d", text):
                owners = ()  # a numbered item for no unit (`1. Các phòng, ban ...`)
        if owners:
            layout.owners[index] = owners

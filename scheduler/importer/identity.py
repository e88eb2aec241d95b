"""The plan's own identity: its kind, number, date, issuer, title and year.

Formal plans carry `Số: 45/KH-UBND` and `<Place>, ngày 22 tháng 4 năm 2024` in their
header, the kind in capitals (`KẾ HOẠCH`) and the subject under it; a news article says
`Ngày 18/4/2023, UBND huyện X ban hành Kế hoạch số 573/KH-UBND ...`. The result gives
events their `basis` and yearless dates their year, and tells `extract` which dates are
the document's own (never events).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from scheduler.importer.text import Paragraph

DOC_TYPES = ("Kế hoạch", "Chương trình", "Quyết định", "Công văn", "Hướng dẫn", "Thông báo",
             "Chỉ thị", "Nghị quyết", "Nghị định", "Thông tư", "Đề án", "Báo cáo", "Luật",
             "Văn bản", "Tờ trình", "Điều lệ", "Quy chế", "Quy định", "Pháp lệnh")
DOC_TYPE = "|".join(DOC_TYPES)
# 45/KH-UBND, 1790/QĐ-TTg, 191/2009/TT-BTC, 21-CT/TW, 90-KH/TU
DOC_NUMBER = r"\d{1,5}(?:/\d{4})?[/-][A-ZĐ][\wĐđ&.-]*(?:/[\wĐđ&.-]+)*"
_NUMBER_LINE = re.compile(r"\bSố\s*:\s*(?P<num>\d[^\s,;|]*(?:\s*/\s*[^\s,;|]+)?|\S*)",
                          re.IGNORECASE)
_PLACE_DATE = re.compile(r"[\w)]\s*,\s*ngày\s*(?:(?P<d>\d{1,2})?\s*tháng\s*(?P<m>\d{1,2})?\s*năm\s*"
                         r"(?P<y>\d{4})|(?P<d2>\d{1,2})[/.-](?P<m2>\d{1,2})[/.-](?P<y2>\d{4}))",
                         re.IGNORECASE)
_ISSUED = re.compile(
    rf"(?:^|[;,.:]\s*|(?:ngày|Ngày)\s+(?P<d>\d{{1,2}})[/-](?P<m>\d{{1,2}})[/-](?P<y>\d{{4}})\s*,\s*)"
    rf"(?P<issuer>[A-ZĐÀ-Ỹ][^;,.:]{{2,90}}?)\s+(?:đã\s+)?ban hành\s+(?P<type>{DOC_TYPE})"
    rf"(?:\s+số\s+(?P<num>{DOC_NUMBER}))?")
# "năm 2025" names the plan's year; "đến năm 2030", "giai đoạn ... năm" do not.
_TITLE_YEAR = re.compile(r"(?<!đến )(?<!tới )(?<!đến hết )\bnăm\s+(\d{4})\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<![\d/-])(20\d\d)(?![\d/-])")
# The type code of a number (Nghị định 30/2020, Phụ lục III): `45/KH-UBND` is a plan,
# `812/SNV-CTTN` (issuer first, no type) a công văn.
_TYPE_CODES = {"KH": "Kế hoạch", "QĐ": "Quyết định", "TB": "Thông báo", "HD": "Hướng dẫn",
               "CT": "Chỉ thị", "NQ": "Nghị quyết", "BC": "Báo cáo", "CTr": "Chương trình",
               "CTR": "Chương trình", "TTr": "Tờ trình", "ĐA": "Đề án", "QC": "Quy chế",
               "QyĐ": "Quy định", "TT": "Thông tư", "CV": "Công văn"}
_SUBJECT_LINE = re.compile(r"^(?:V/v|v/v|Về việc|V/V)\s*:?\s*(?P<subject>.+)$")
_SLOGAN = re.compile(r"!\s*$|^(?:CHÀO MỪNG|NHIỆT LIỆT|MỪNG|Chào mừng|Nhiệt liệt)\b")
_LOWER_WORDS = {"ban", "nhân", "dân", "xã", "phường", "huyện", "tỉnh", "thị", "trấn", "quận",
                "thành", "phố", "của", "và", "đồng", "đặc", "khu"}


@dataclass(frozen=True)
class Identity:
    """Who issued the plan, as what, when; `year` is the year yearless dates belong to."""

    doc_type: str = "Kế hoạch"
    number: str | None = None
    issued: date | None = None
    issuer: str | None = None
    subject: str | None = None
    year: int | None = None
    body_start: int = 0  # index of the first paragraph after the header
    year_guessed: bool = False  # the year is the commonest in the text, not the document's

    @property
    def title(self) -> str:
        """`Kế hoạch triển khai ...`: the plan's name for the draft's `name`.

        A letter (công văn) is named by its kind, number and date, then its subject.
        """
        if self.doc_type == "Công văn" and (self.number or self.issued):
            name = " ".join(self.basis().split(" của ")[0].split())
            return f"{name} về việc {_lower_first(self.subject)}" if self.subject else name
        if self.subject:
            return f"{self.doc_type} {_lower_first(self.subject)}"
        return self.doc_type

    def basis(self) -> str:
        """`Kế hoạch số 45/KH-UBND ngày 22/4/2024 của UBND phường X`: how a plan is cited."""
        parts = [self.doc_type]
        if self.number:
            parts.append(f"số {self.number}")
        if self.issued:
            parts.append(f"ngày {self.issued.day}/{self.issued.month}/{self.issued.year}")
        if not self.number and not self.issued and self.subject:
            parts.append(_lower_first(self.subject))
        elif not self.number and not self.issued and self.year:
            parts.append(f"năm {self.year}")
        if self.issuer and (not self.subject or self.issuer.lower() not in self.subject.lower()
                            or self.number or self.issued):
            parts.append(f"của {self.issuer}")
        return " ".join(parts)


def _lower_first(text: str) -> str:
    head = text.split(" ", 1)[0]
    if head[:1].isupper() and head[1:].islower():
        return text[:1].lower() + text[1:]
    return text


_PLACES = {"xã", "phường", "huyện", "tỉnh", "quận", "trấn", "phố", "khu"}
_TWO_WORD_PLACES = {"thành phố", "thị xã", "thị trấn", "đặc khu"}
_ACRONYMS = {"UBND", "HĐND", "MTTQ", "LĐTBXH", "VHTTDL", "LHPN", "TNCS", "HCM"}


def _smart_case(text: str) -> str:
    """`ỦY BAN NHÂN DÂN XÃ HÒA AN` → `Ủy ban nhân dân xã Hòa An`; `SỞ NỘI VỤ` → `Sở Nội vụ`."""
    out: list[str] = []
    proper = False  # inside a place name: every word capitalised
    for index, word in enumerate(text.split()):
        lowered = word.lower()
        if word in _ACRONYMS:
            out.append(word)
            continue
        previous = out[-1].lower() if out else ""
        before = out[-2] if len(out) > 1 else ""
        if previous in _PLACES and before not in {"-", "và"} and lowered not in _PLACES:
            proper = True
        elif lowered in _PLACES:
            proper = False
        after_dash = previous == "-"  # "Phòng Văn hóa - Xã hội"
        if index == 0 or proper or after_dash or (index == 1 and previous in {"sở", "bộ",
                                                                            "phòng"}):
            out.append(lowered.capitalize())
        else:
            out.append(lowered)
    return " ".join(out)


def _header_issuer(head: list[Paragraph]) -> str | None:
    """The last capitalised line of the header before the motto or the number: `SỞ NỘI VỤ`."""
    found: str | None = None
    for para in head:
        row = "|" in para.text
        for cell in para.text.split("|"):
            text = cell.strip()
            if row and text.startswith(("CỘNG HÒA", "CỘNG HOÀ", "Độc lập")):
                break  # the right column of a two-column header: the issuer goes on below
            if text.startswith(("Số", "CỘNG HÒA", "CỘNG HOÀ", "Độc lập")) or any(
                    text.startswith(t.upper()) for t in DOC_TYPES):
                if found:
                    return found
                continue
            if text.isupper() and 3 < len(text) < 80:
                text = _smart_case(re.split(r"\s+CỘNG HO?ÀA", text)[0].strip())
                first = text.lower().split()
                # "ỦY BAN NHÂN DÂN" over "HUYỆN QUẢNG ĐIỀN" is one name on two lines.
                if found and (first[0] in _PLACES or " ".join(first[:2]) in _TWO_WORD_PLACES) and \
                        found.split()[-1].lower() not in _PLACES and len(found.split()) <= 4:
                    found = f"{found} {text[:1].lower()}{text[1:]}"
                elif found and text.lower().startswith("ban ") and len(text.split()) <= 3:
                    found = f"{text} {found}"  # "BAN THƯỜNG VỤ" under "HỘI LHPN HUYỆN X"
                else:
                    found = text
    return found


def _subject_lines(para: Paragraph) -> str:
    """The subject under a type heading, without a sentence glued to it: the lines of a
    wrapped subject go on in lower case or after a word a line cannot end on."""
    from scheduler.importer.text import OPEN_WORDS

    text = para.text
    for offset in para.offsets[1:]:
        before, piece = text[:offset].rstrip(), text[offset:]
        last = before.rsplit(" ", 1)[-1].lower()
        if piece[:1].isupper() and last not in OPEN_WORDS and not before.endswith(","):
            return before
    return text


def type_of_number(number: str) -> str | None:
    """The document type a number's code names: `45/KH-UBND` → Kế hoạch; `415/SNV-CTTN`
    (issuer-unit, no type code) → Công văn; None when the number has no code."""
    parts = number.split("/")
    if len(parts) < 2:
        return None
    code = parts[-1].split("-")[0]
    if code in _TYPE_CODES:
        return _TYPE_CODES[code]
    return "Công văn" if "-" in parts[-1] and code else None


def _date(d: str | None, m: str | None, y: str | None) -> date | None:
    if not (d and m and y):
        return None
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def read_identity(paras: list[Paragraph]) -> Identity:
    """The identity found in the first paragraphs of a plan (missing parts stay None)."""
    head = paras[:40]
    number = issued = issuer = subject = None
    header_year: int | None = None
    doc_type = "Kế hoạch"
    body_start = 0
    for para in head[:12]:
        found = _NUMBER_LINE.search(para.text)
        if found and number is None and re.match(r"\d", found.group("num")):
            number = re.sub(r"\s+", "", found.group("num")).rstrip(".,;")
        place = _PLACE_DATE.search(para.text)
        if place and header_year is None:
            day, month, year = (place.group("d") or place.group("d2"),
                                place.group("m") or place.group("m2"),
                                place.group("y") or place.group("y2"))
            header_year = int(year)
            issued = _date(day, month, year)
    for index, para in enumerate(head[:15]):
        text = para.text.strip()
        if text.isupper() and len(text) < 60:
            kind = next((t for t in DOC_TYPES if text.startswith(t.upper())), None)
            if kind:
                doc_type = kind
                body_start = index + 1
                rest = text[len(kind):].strip(" :-")
                if rest:  # "CHƯƠNG TRÌNH CÔNG TÁC NĂM 2025" on one line
                    subject = rest[:1] + rest[1:].lower()
                    break
                following = _subject_lines(head[index + 1]) if index + 1 < len(head) else ""
                if following and len(following) < 300 and not re.match(
                        r"(?:Căn cứ|Theo|Nhằm)\b", following) and not re.search(
                        DOC_NUMBER, following):
                    subject = following.rstrip(".")
                    body_start = index + 2
                break
    if body_start == 0 and subject is None:
        for index, para in enumerate(head[:14]):
            found_subject = next((m for cell in para.text.split("|")
                                  if (m := _SUBJECT_LINE.match(cell.strip()))), None)
            if found_subject:  # a letter: "V/v ..." under its number
                subject = found_subject.group("subject").strip().rstrip(".")
                doc_type = (type_of_number(number) if number else None) or "Công văn"
                body_start = max(body_start, index + 1)
                break
        else:
            if number and type_of_number(number):
                doc_type = type_of_number(number) or doc_type
    for para in head[:10]:
        match = _ISSUED.search(para.text)
        if match and number and match.group("num") and match.group("num") != number:
            continue  # a document the plan cites, not the plan
        if match and re.match(r"(?:Về việc|V/v|Điều|Quyết định|Nay|Ban hành)\b",
                              match.group("issuer")):
            continue  # "Về việc ban hành Kế hoạch ...": a subject, not who issued it
        if match:
            issuer = match.group("issuer").strip()
            if body_start == 0:
                doc_type = match.group("type")
            if number is None and match.group("num"):
                number = match.group("num")
            issued = issued or _date(match.group("d"), match.group("m"), match.group("y"))
            if subject is None and match.group("num"):
                rest = para.text[match.end():].split(".")[0].strip(" ,")
                subject = rest[:1].upper() + rest[1:] if 5 < len(rest) < 200 else None
            break
    if issuer is None or issuer.split()[-1].lower() in _PLACES:
        type_line = next((i for i, p in enumerate(head[:15]) if p.text.isupper() and any(
            p.text.startswith(t.upper()) for t in DOC_TYPES)), 3)
        issuer = _header_issuer(head[:min(type_line, 8)]) or issuer
    # A plan for 2025 is often signed in December 2024: its title's year wins.
    year = None
    if subject:
        years = _TITLE_YEAR.findall(subject)
        year = int(years[-1]) if years else None
    year = year or (issued.year if issued else None) or header_year
    if year is None:
        for para in head[:5]:
            if _SLOGAN.search(para.text):
                continue  # "CHÀO MỪNG ... NĂM 2019!": a banner, not the plan's year
            years = _TITLE_YEAR.findall(para.text)
            if years:
                year = int(years[-1])
                break
    guessed = False
    if year is None:
        counted = Counter(int(y) for p in paras if not _SLOGAN.search(p.text)
                          for y in _YEAR.findall(p.text))
        year = counted.most_common(1)[0][0] if counted else None
        guessed = year is not None
    return Identity(doc_type=doc_type, number=number, issued=issued, issuer=issuer,
                    year_guessed=guessed,
                    subject=subject, year=year, body_start=body_start)

"""From a plan's paragraphs to drafted events: which dates are plan items, and what they are.

A date is an event unless it is the date of a cited document (`Kế hoạch số 24/KH-SLĐTBXH
ngày 15/02/2022`, `ban hành ngày ...`), the plan's own date, a founding or anniversary year
(`08/3/1910`), or a time stamp on a line of its own. Each remaining date gets a kind
(deadline after `trước`/`chậm nhất`; campaign for `tháng hành động`, `chiến dịch`;
observance for `kỷ niệm`, `Ngày Quốc tế ...`; else activity), a title (the national name,
or the clause stating the task), a rule (dated, yearly when the text says `hằng năm`,
`định kỳ` or the day is a national one), units and a `report_to`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.importer import context, wording
from scheduler.importer.dates import Mention, find_dates
from scheduler.importer.identity import Identity, read_identity
from scheduler.importer.observances import Known, KnownEvents, NameHit, Shape, rule_keys
from scheduler.importer.read import Document
from scheduler.importer.sections import Layout, read_layout
from scheduler.importer.text import LIST_MARKER, Paragraph, paragraphs, sentences, slug
from scheduler.importer.units import UnitBook, unit_key
from scheduler.importer.wording import RuleKeys

_QUA = re.compile(r"\(\s*qua\s+([^)]+)\)|\bqua\s+((?:[Pp]hòng|Văn phòng|[Bb]an|Hội|Sở|Trạm"
                  r"|[Cc]ông chức|[Cc]ơ quan|[Bb]ộ phận|[Tt]hường trực|UBND|Ủy ban)[^,;.()]*)")
_CONNECTOR = re.compile(r"^\s*(?:,|;|và|hoặc|,\s*và)?\s*(?:ngày\s*)?$")
_BULLET = re.compile(r"^(?:[-+•]|[a-zđ][.)])\s")
# "(qua Phòng X, điện thoại: 0258..., email: ...)": the contact details are not the name.
_CONTACT_TAIL = re.compile(r"[,;:]?\s*(?:điện thoại|số điện thoại|ĐT|SĐT|Tel|e-?mail|thư điện tử"
                           r"|fax|hộp thư)\b|\s\d[\d. ]{6,}", re.IGNORECASE)
_TO_UNIT = re.compile(r"\b(?:gửi|nộp|báo cáo)\b[^,;.()]{0,50}?\s+về\s+([^,;.()]+)")


@dataclass
class Drafted:
    """One drafted `[[event]]` with where it came from."""

    id: str
    title: str
    kind: str
    rule: RuleKeys
    units: list[str]
    basis: str
    file: str
    line: int
    quote: str
    report_to: str | None = None
    national: bool = False
    notes: list[str] = field(default_factory=list)
    page: int | None = None  # the PDF page of `line`


@dataclass
class PlanDraft:
    """What one plan document yields."""

    document: Document
    identity: Identity
    events: list[Drafted]
    paragraphs: int


class _PlanReader:
    """State while reading one plan: its identity, layout, units and drafted events."""

    def __init__(self, document: Document, known: KnownEvents, book: UnitBook,
                 taken_ids: set[str]) -> None:
        self.document = document
        self.known = known
        self.book = book
        self.taken = taken_ids
        self.paras = paragraphs(document.lines, document.separate_lines, document.numbers)
        self.identity = read_identity(self.paras)
        self.layout: Layout = read_layout(self.paras, self.identity, book, document.name)
        self.events: list[Drafted] = []
        self.undated: list[Drafted] = []
        self._by_id: dict[str, Drafted] = {}
        self._by_title: dict[tuple[str, str], Drafted] = {}
        self._next_suffix: dict[str, int] = {}

    def run(self, progress: Callable[[int], None] | None) -> PlanDraft:
        """Draft every item of the plan, in document order."""
        heading: Mention | None = None  # "Tháng 3:" over a list of that month's tasks
        for index, para in enumerate(self.paras):
            if progress:
                progress(index)
            if index < self.identity.body_start or not self.layout.is_content(index):
                continue
            own = context.date_heading(para.text)
            following = self.paras[index + 1].text if index + 1 < len(self.paras) else ""
            if own is not None and _BULLET.match(following):
                heading = own
                continue
            bullet = _BULLET.match(para.text)
            if heading is not None and bullet and not any(
                    wording.precise(m) for m in find_dates(para.text)):
                self._under_heading(index, para, heading)
                continue
            if not bullet:
                heading = None
            for offset, sentence in sentences(para):
                self._sentence(index, para, offset, sentence)
        present = {e.id for e in self.events}
        self.events.extend(e for e in self.undated if e.id not in present)
        for event in self.events:
            if event.kind == "deadline" and event.report_to is None and self.layout.coordinator:
                event.report_to = self.layout.coordinator
                event.notes.append("nơi nhận báo cáo: cơ quan thường trực (đầu mối) của kế hoạch")
            event.page = self.document.page_of(event.line)
            if self.document.ocr:
                event.notes.append("chữ nhận dạng từ ảnh quét (OCR): đối chiếu kỹ ngày, tên và "
                                   "đơn vị với bản gốc")
        return PlanDraft(self.document, self.identity, self.events, len(self.paras))

    def _under_heading(self, index: int, para: Paragraph, heading: Mention) -> None:
        """A task listed under a month or quarter heading: it happens in that month."""
        sentence = sentences(para)[0][1] if sentences(para) else para.text
        cleaned = wording.clean_clause(sentence)
        if len(cleaned.split()) < 2:
            return
        shape = wording.shape(heading)
        for hit in self.known.names_in(sentence):
            if hit.known.shape == shape:
                event = self._from_known(hit.known, index, sentence, para.line)
                event.notes.append(f"thời gian theo đề mục “{heading.text}”")
                self._add(event)
                return
        title = wording.cut(cleaned[:1].upper() + cleaned[1:])
        kind = "campaign" if wording.CAMPAIGN.search(sentence) else "activity"
        if wording.DEADLINE_CUE.search(sentence) or re.search(r"\b(?:gửi|nộp)\b", sentence,
                                                        re.IGNORECASE):
            kind = "deadline"
        rule = wording.rule(heading, self.identity.year, bool(wording.YEARLY.search(sentence)))
        if kind == "deadline":
            rule = wording.due_day(rule)
        event = Drafted(id=self._id(title, rule), title=title, kind=kind, rule=rule,
                        units=self._units(index, sentence), basis=self.identity.basis(),
                        file=self.document.name, line=para.line, quote=sentence.strip())
        event.notes.append(f"thời gian theo đề mục “{heading.text}”")
        if kind == "deadline":
            event.report_to = self._report_to(index, sentence, para.line)
        self._add(event)

    def _placed(self, index: int, para: Paragraph, offset: int, sentence: str,
                mention: Mention) -> tuple[str | None, list[str]]:
        """Title and units when the date sits in a table cell or a `Thời gian:` line."""
        names: list[str] = []
        task: str | None = None
        cells = context.table_cells(sentence)
        if cells is not None:
            task = context.row_task(cells, mention.start)
            names = context.row_units(cells, task)
        else:
            bare = not re.search(r"[^\W\d_]", sentence.replace(mention.text, ""))
            if context.is_time_label(sentence) or bare:
                earlier = [s for o, s in sentences(para) if o < offset]
                task = context.task_before(self.paras, index, earlier)
            names = context.owner_names(self.paras, index, sentence)
        title = None
        if task:
            cleaned = wording.clean_clause(task)
            title = wording.cut(cleaned[:1].upper() + cleaned[1:]) if cleaned else None
        units = [u.id for n in names
                 if (u := self.book.resolve(n, self.document.name, para.line)) is not None]
        return title, list(dict.fromkeys(units))

    def _without_subject(self, title: str) -> str:
        """`Giao Trạm Y tế xã tổ chức khám ...` → `Tổ chức khám ...` (the unit is in `units`)."""
        words = re.sub(r"^(?:[Gg]iao(?: cho)?|[Đđ]ề nghị|[Yy]êu cầu)\s+", "", title).split()
        for count in range(min(len(words) - 2, 14), 1, -1):
            head = " ".join(words[:count])
            if self.book.knows(unit_key(head)):
                rest = " ".join(words[count:]).lstrip(",: ")
                return rest[:1].upper() + rest[1:]
        return title

    def _units(self, index: int, sentence: str) -> list[str]:
        owners = self.layout.owners.get(index)
        if owners:
            return list(owners)
        body = LIST_MARKER.sub("", sentence.strip(), count=1)
        body = re.sub(r"^(?:[Gg]iao(?: cho)?|[Đđ]ề nghị|[Yy]êu cầu)\s+", "", body)
        subject = self.book.lookup(body)
        if subject is None and LIST_MARKER.match(sentence.strip()):
            lead = self.layout.lead_in(index)
            subject = self.book.lookup(LIST_MARKER.sub("", lead, count=1)) if lead else None
        return [subject.id] if subject else ["all"]

    def _report_to(self, index: int, sentence: str, line: int) -> str | None:
        lead = self.layout.lead_in(index) or ""
        for text in (sentence, lead):
            for pattern in (_QUA, _TO_UNIT):
                match = pattern.search(text)
                if match:
                    name = next(g for g in match.groups() if g)
                    name = _CONTACT_TAIL.split(name, maxsplit=1)[0].strip(" ,;:")
                    name = name[:1].upper() + name[1:]
                    unit = self.book.resolve(name.strip(), self.document.name, line)
                    if unit:
                        return unit.id
        return None

    def _keep(self, sentence: str, mention: Mention) -> Mention | None:
        """The mention as an event date, or None when it is not one."""
        prefix = sentence[:mention.start]
        year = self.identity.year
        if wording.cited(prefix, mention) or mention.text == "24/7":  # "trực 24/7": all hours
            return None
        if wording.EFFECTIVE.search(prefix) and mention.last is None:
            return None  # "có hiệu lực từ ngày", "kể từ ngày 01/7/2025": a fact, not a task
        issuing = wording.ISSUING.search(sentence)
        if issuing and mention.end <= issuing.start() and not wording.DEADLINE_CUE.search(prefix):
            return None
        if wording.stamp(sentence, mention) or wording.POSTED.match(sentence) or \
                wording.reported(sentence, mention):
            return None  # a page's time stamp, its "cập nhật" line, or a report of the past
        ends_at = wording.last_day(mention)
        if ends_at and self.identity.issued and ends_at < self.identity.issued and \
                re.search(r"\bđã\b", prefix):
            return None  # "năm 2023, huyện đã tổ chức ... vào ngày 20/10/2023": done before
        if not re.search(r"[^\W\d_]", sentence.replace(mention.text, "")) and (
                re.search(r"\d{1,2}:\d{2}", sentence) or (mention.first[0] and mention.first[2]
                and not mention.last)):
            return None  # a time stamp, or a dated day on a line of its own
        if re.fullmatch(r"\d{1,2}[/-]\d{1,2}", mention.text) and (
                wording.QUANTITY_AFTER.match(sentence[mention.end:])
                or wording.QUANTITY_BEFORE.search(prefix)):
            return None  # "1/3 số xã", "từ 6-9 tuổi", "đạt 2/3": a fraction or a range of counts
        if re.fullmatch(r"\d{1,2}-\d{1,2}", mention.text) and not wording.LOOSE_CUE.search(prefix) \
                and not self.known.by_shape(("day", mention.first[1], mention.first[2])):
            return None  # "2-3 buổi" is a count, not 2 March
        ends = wording.last_day(mention)
        if ends and self.identity.issued and ends < self.identity.issued and (
                year is None or ends.year < year):
            return None  # past before the plan's year began: background, not a task
        if wording.SINCE.match(prefix) and mention.last is None and \
                sentence[mention.end:].lstrip().startswith(","):
            return None  # "Từ ngày 01/7/2025, Phòng ... là cơ quan thường trực": since when
        first_year, last_year = mention.first[0], mention.last[0] if mention.last else None
        # A date with its own year is never dropped for disagreeing with a guessed year.
        old = year is not None and first_year is not None and first_year < year - 1 and \
            not self.identity.year_guessed
        if mention.last is None:
            if old or (self.identity.issued and mention.first == (
                    self.identity.issued.year, self.identity.issued.month,
                    self.identity.issued.day)):
                return None
            return mention
        if old:
            if last_year is not None and last_year >= year - 1:  # type: ignore[operator]
                return Mention(mention.start, mention.end, mention.text, mention.last)
            return None
        return mention

    def _sentence(self, index: int, para: Paragraph, offset: int, sentence: str) -> None:
        names = self.known.names_in(sentence)
        bound: set[str] = set()
        previous_end = 0
        previous_kind: str | None = None
        yearly = bool(wording.YEARLY.search(sentence))
        found = find_dates(sentence)
        has_day = any(m.last is None and m.first[2] for m in found)
        for number, raw in enumerate(found):
            if has_day and raw.text.lower().startswith("quý"):
                continue  # "báo cáo quý I trước ngày 20/3": the quarter is the subject
            mention = self._keep(sentence, raw)
            if mention is None:
                if not re.fullmatch(r"\d{1,2}-\d{1,2}", raw.text):  # a count stays in the title
                    previous_end = raw.end
                continue
            prefix = sentence[:mention.start]
            line = para.line_at(offset + mention.start)
            shape = wording.shape(mention)
            following = found[number + 1].start if number + 1 < len(found) else len(sentence)
            tail = re.split(r"[,;]|\svà\s", sentence[mention.end:following], maxsplit=1)[0]
            clause = sentence[previous_end:mention.end] + tail
            kind = wording.kind(sentence, clause, prefix, mention)
            if previous_kind and _CONNECTOR.match(sentence[previous_end:mention.start]):
                kind = previous_kind  # "trước ngày 15/6 và 15/12": both are deadlines
            previous_kind = kind
            matches = self._national(shape, names, kind, sentence, clause)
            for known in matches:
                bound.add(known.event.id)
                event = self._from_known(known, index, sentence, line)
                placed_units = self._placed(index, para, offset, sentence, mention)[1]
                event.units = placed_units or event.units
                if not mention.first[0] and not yearly:
                    event.notes.append("ngày theo lịch quốc gia (hằng năm)")
                elif mention.first[0]:
                    event.notes.append(f"kế hoạch ghi “{mention.text}”; đây là sự kiện hằng năm "
                                       "của lịch quốc gia")
                if kind == "deadline":
                    event.report_to = self._report_to(index, sentence, line)
                self._add(event)
            if not matches:
                title, units = self._placed(index, para, offset, sentence, mention)
                title = title or self._without_subject(
                    wording.title(sentence, mention, previous_end, kind))
                rule = wording.rule(mention, self.identity.year, yearly)
                if kind == "deadline":
                    rule = wording.due_day(rule)
                event = Drafted(
                    id=self._id(title, rule), title=title, kind=kind, rule=rule,
                    units=units or self._units(index, sentence), basis=self.identity.basis(),
                    file=self.document.name, line=line, quote=sentence.strip())
                if kind == "deadline":
                    event.report_to = self._report_to(index, sentence, line)
                self._add(event)
            previous_end = mention.end
        if any(True for _ in find_dates(sentence)):
            return  # names beside a cited or historical date are not plan items
        for hit in names:
            if hit.known.event.id in bound:
                continue
            line = para.line_at(offset + hit.start)
            event = self._from_known(hit.known, index, sentence, line)
            event.notes.append("kế hoạch nêu tên, không ghi ngày: ngày theo lịch quốc gia")
            self.undated.append(event)

    def _national(self, shape: Shape | None, names: list[NameHit], kind: str,
                  sentence: str, clause: str) -> list[Known]:
        """The national events this date is (several when `Tháng 6: A và B` names two)."""
        if shape is None:
            return []
        if kind == "deadline":
            deadline = self.known.deadline_for(shape, sentence, clause)
            return [deadline] if deadline else []
        named = [h.known for h in names if h.known.shape == shape]
        if named:
            return list(dict.fromkeys(named))
        same_day = [k for k in self.known.by_shape(shape) if k.event.kind != "deadline"]
        if len(same_day) == 1 and (shape[0] != "day" or same_day[0].event.kind == "observance"):
            return [same_day[0]]
        return []

    def _from_known(self, known: Known, index: int, sentence: str, line: int) -> Drafted:
        event = known.event
        return Drafted(id=event.id, title=event.title, kind=event.kind, rule=rule_keys(event),
                       units=self._units(index, sentence), basis=self.identity.basis(),
                       file=self.document.name, line=line, quote=sentence.strip(),
                       national=True)

    def _id(self, title: str, rule: RuleKeys) -> str:
        base = slug(title.rstrip("…"), 56)
        dated = next((str(v)[:4] for v in rule.values()
                      if isinstance(v, str) and re.match(r"\d{4}-", v)), None)
        if dated and not base.endswith(dated) and "rrule" not in rule:
            base = f"{base}-{dated}"
        candidate, n = base, self._next_suffix.get(base, 2)
        if candidate in self.taken:
            candidate = f"{base}-{n}"
            while candidate in self.taken:  # linear over a plan: the counter remembers
                candidate, n = f"{base}-{n + 1}", n + 1
            self._next_suffix[base] = n + 1
        return candidate

    def _add(self, event: Drafted) -> None:
        key = (event.title, repr(sorted(event.rule.items())))
        other = self._by_id.get(event.id) or self._by_title.get(key)
        if other is not None:
            other.units = _merge_units(other.units, event.units)
            if event.report_to and not other.report_to:
                other.report_to = event.report_to
            return
        self.taken.add(event.id)
        self.events.append(event)
        self._by_id[event.id] = event
        self._by_title.setdefault(key, event)



def _merge_units(first: list[str], second: list[str]) -> list[str]:
    if "all" in first or "all" in second:
        return ["all"]
    return first + [u for u in second if u not in first]


def extract_plan(document: Document, known: KnownEvents, book: UnitBook, taken_ids: set[str],
                 progress: Callable[[int], None] | None = None) -> PlanDraft:
    """Draft the events of one plan; units go into `book`, ids into `taken_ids`."""
    return _PlanReader(document, known, book, taken_ids).run(progress)


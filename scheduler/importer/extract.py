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

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from scheduler.importer import context
from scheduler.importer.dates import Mention, find_dates
from scheduler.importer.identity import DOC_NUMBER, DOC_TYPE, Identity, read_identity
from scheduler.importer.observances import Known, KnownEvents, NameHit, Shape, rule_keys
from scheduler.importer.read import Document
from scheduler.importer.sections import Layout, read_layout
from scheduler.importer.text import LIST_MARKER, Paragraph, paragraphs, sentences, slug
from scheduler.importer.units import UnitBook

RuleKeys = dict[str, object]

_CITED = [
    re.compile(rf"{DOC_NUMBER}(?:\s*,)?(?:\s+(?:của|do)\s+[^;()]{{1,60}}?)?"
               r"(?:\s+(?:ban hành|ký))?\s*,?\s*$"),
    re.compile(r"\b(?:ban hành|ký|thông qua|phê duyệt|công bố)\s*(?:vào\s*)?$", re.IGNORECASE),
    re.compile(rf"\b(?:{DOC_TYPE})(?:\s+số)?\s*$"),
]
_DEADLINE_CUE = re.compile(
    r"(?:trước|chậm nhất(?:\s+(?:là|vào))?|hạn(?:\s+(?:chót|cuối|nộp|gửi))?|không quá|muộn nhất"
    r"|trước hoặc trong|trong hạn|hoàn thành trong)"
    r"(?:\s+\d{1,2}\s*(?:giờ|h)(?:\s*\d{2}(?:\s*phút)?)?,?)?\s*[(:]?\s*$", re.IGNORECASE)
_LOOSE_CUE = re.compile(r"(?:ngày|từ|đến|dịp|kỷ niệm|hưởng ứng|chào mừng|trước|sau|vào)\s*$",
                        re.IGNORECASE)
_EFFECTIVE = re.compile(r"(?:kể từ|hiệu lực(?:\s+thi hành)?(?:\s+kể)?(?:\s+từ)?)\s*$",
                        re.IGNORECASE)
_YEARLY = re.compile(r"\b(?:hằng|hàng|mỗi)\s+năm\b|\bđịnh kỳ\b|\bthường niên\b", re.IGNORECASE)
_CAMPAIGN = re.compile(r"tháng hành động|chiến dịch|cao điểm|tuần lễ|tháng cao điểm|đợt ra quân"
                       r"|phát động|hưởng ứng tháng|ngày hành động", re.IGNORECASE)
_OBSERVANCE = re.compile(r"kỷ niệm|ngày quốc tế|ngày thế giới|ngày truyền thống|ngày thành lập"
                         r"|ngày toàn dân|chào mừng ngày|hưởng ứng ngày|ngày [A-ZĐ]\w* [A-ZĐ]")
_OBSERVANCE_NAME = re.compile(r"\b[Nn]gày\s+(?:Quốc tế|Thế giới|toàn dân|truyền thống|thành lập"
                              r"|[A-ZĐ])[^,;.()\d]{3,80}")
_REPORT = re.compile(r"\b(?:báo cáo|gửi|nộp)\b", re.IGNORECASE)
_QUA = re.compile(r"\(\s*qua\s+([^)]+)\)|\bqua\s+((?:[Pp]hòng|Văn phòng|[Bb]an|Hội|Sở|Trạm"
                  r"|[Cc]ông chức|[Cc]ơ quan|[Bb]ộ phận|[Tt]hường trực|UBND|Ủy ban)[^,;.()]*)")
_TO_UNIT = re.compile(r"\b(?:gửi|nộp|báo cáo)\b[^,;.()]{0,50}?\s+về\s+([^,;.()]+)")
_TRAILING = re.compile(
    r"(?:\s+|^)(?:trước|chậm nhất|vào|từ|trong|ngày|dịp|đến|hạn|là|lúc|tại|kể từ|bắt đầu|"
    r"thời gian|thời hạn|và|hoặc|,|:|\(|-|\d{1,2}\s*(?:giờ|h)(?:\s*\d{2}(?:\s*phút)?)?)\s*$",
    re.IGNORECASE)
_LEADING = re.compile(r"^(?:[-+•,;:)\s]|và\s|hoặc\s|Đồng thời,?\s|đồng thời,?\s)+")
_REPORT_TITLE = re.compile(r"\b[Bb]áo cáo\b((?:\s+(?!về\b|gửi\b|cho\b|lên\b|tới\b|qua\b|để\b"
                           r"|trước\b|chậm\b|theo\b|tại\b|và\b)[^\s,;:()]+){0,12})")
_WEEKDAY = re.compile(r"\b(?:[Tt]hứ\s+(?:[Hh]ai|[Bb]a|[Tt]ư|[Nn]ăm|[Ss]áu|[Bb]ảy|[2-7])"
                      r"|[Cc]hủ\s+[Nn]hật)\b,?")
MAX_TITLE = 90


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


@dataclass
class PlanDraft:
    """What one plan document yields."""

    document: Document
    identity: Identity
    events: list[Drafted]
    paragraphs: int


def _cited(prefix: str, mention: Mention) -> bool:
    before = prefix
    if not mention.text.lower().startswith("ngày"):
        before = re.sub(r"\bngày\s*$", "", before, flags=re.IGNORECASE)
    before = before.rstrip()
    return any(p.search(before[-160:]) for p in _CITED)


def _precise(mention: Mention) -> bool:
    """A day or a span of days, not a whole month or quarter (`sơ kết quý I` is a subject)."""
    if mention.rrule:
        return True
    if mention.last is None:
        return mention.first[2] != 0
    (_, _, fd), (ly, lm, ld) = mention.first, mention.last
    return not (fd == 1 and ld == calendar.monthrange(ly or 2023, lm)[1])


def _last_day(mention: Mention) -> date | None:
    """The last day a fully dated mention covers (None when a year is missing)."""
    year, month, day = mention.last or mention.first
    if year is None or month == 0:
        return None
    return date(year, month, day or calendar.monthrange(year, month)[1])


def _shape(mention: Mention) -> Shape | None:
    if mention.rrule:
        return None
    (_, fm, fd) = mention.first
    if mention.last:
        (ly, lm, ld) = mention.last
        if fm == lm and fd == 1 and ld == calendar.monthrange(ly or 2023, lm)[1]:
            return ("month", fm)
        return ("span", fm, fd, lm, ld)
    if fd == 0:
        return ("month", fm)
    return ("day", fm, fd)


def _rule(mention: Mention, year: int | None, yearly: bool) -> RuleKeys:
    if mention.rrule:
        return {"rrule": mention.rrule, **({"start": f"{year}-01-01"} if year else {})}
    fy, fm, fd = mention.first
    if mention.last is None and fd == 0:
        if fy:
            return {"month": f"{fy}-{fm:02d}"}
        return {"month": fm} if yearly or year is None else {"month": f"{year}-{fm:02d}"}
    if mention.last is None:
        if fy:
            return {"date": f"{fy}-{fm:02d}-{fd:02d}"}
        if yearly or year is None:
            return {"date": f"{fm:02d}-{fd:02d}"}
        return {"date": f"{year}-{fm:02d}-{fd:02d}"}
    ly, lm, ld = mention.last
    if fy is None and (yearly or year is None) and (fm, fd) <= (lm, ld):
        return {"start": f"{fm:02d}-{fd:02d}", "end": f"{lm:02d}-{ld:02d}"}
    first_year = fy or year or 2000
    last_year = ly or (first_year if (lm, ld) >= (fm, fd) else first_year + 1)
    return {"start": f"{first_year}-{fm:02d}-{fd:02d}", "end": f"{last_year}-{lm:02d}-{ld:02d}"}


def _cut(text: str, limit: int = MAX_TITLE) -> str:
    text = " ".join(text.split()).strip(" ,;:-.")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return _TRAILING.sub("", cut).rstrip(" ,;:-") + "…"


def _clean_clause(text: str) -> str:
    for mention in reversed(find_dates(text)):
        if re.search(r"\d", mention.text):  # "sơ kết quý I" keeps its subject
            text = text[:mention.start] + text[mention.end:]
    text = _WEEKDAY.sub("", text)
    text = re.sub(r"\([^)]*\)?\s*$", "", text)  # a trailing "(từ ngày ..." remnant
    text = re.sub(r"\(\s*\)", "", text)
    text = LIST_MARKER.sub("", text.strip(), count=1)
    text = _LEADING.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING.sub("", text).strip()
    return text.strip(" ,;:-\"“”")


def _title(sentence: str, mention: Mention, previous_end: int, kind: str) -> str:
    start = max(sentence.rfind(";", 0, mention.start) + 1, previous_end)
    before = sentence[start:mention.start]
    if ":" in before:
        left, right = before.rsplit(":", 1)
        before = right if len(_clean_clause(right).split()) >= 2 else left
    title = _clean_clause(before)
    if len(title.split()) < 2:
        after = re.split(r"[;.]", sentence[mention.end:], maxsplit=1)[0]
        title = _clean_clause(after) or title
    if kind == "observance":
        named = _OBSERVANCE_NAME.search(sentence[start:mention.end + 40])
        if named:
            title = _clean_clause(named.group())
    if kind == "deadline":
        report = _REPORT_TITLE.search(title)
        if report and report.group(1).strip():
            title = "Báo cáo" + report.group(1)
    title = _cut(title) or _cut(_clean_clause(sentence))
    return title[:1].upper() + title[1:] if title else "Mục trong kế hoạch"


def _kind(sentence: str, prefix: str, mention: Mention) -> str:
    if _DEADLINE_CUE.search(prefix) or (mention.rrule and _REPORT.search(sentence)):
        return "deadline"
    if _CAMPAIGN.search(sentence) and (mention.last or mention.first[2] == 0):
        return "campaign"
    if mention.last is None and mention.first[2] and _OBSERVANCE.search(sentence):
        return "observance"
    return "activity"


class _PlanReader:
    """State while reading one plan: its identity, layout, units and drafted events."""

    def __init__(self, document: Document, known: KnownEvents, book: UnitBook,
                 taken_ids: set[str]) -> None:
        self.document = document
        self.known = known
        self.book = book
        self.taken = taken_ids
        self.paras = paragraphs(document.lines)
        self.identity = read_identity(self.paras)
        self.layout: Layout = read_layout(self.paras, self.identity, book, document.name)
        self.events: list[Drafted] = []
        self.undated: list[Drafted] = []

    def run(self, progress: Callable[[int], None] | None) -> PlanDraft:
        heading: Mention | None = None  # "Tháng 3:" over a list of that month's tasks
        for index, para in enumerate(self.paras):
            if progress:
                progress(index)
            if index < self.identity.body_start or index >= self.layout.body_end:
                continue
            own = context.date_heading(para.text)
            if own is not None:
                heading = own
                continue
            bullet = re.match(r"^(?:[-+•]|[a-zđ][.)])\s", para.text)
            if heading is not None and bullet and not any(
                    _precise(m) for m in find_dates(para.text)):
                self._under_heading(index, para, heading)
                continue
            if not bullet:
                heading = None
            for offset, sentence in sentences(para):
                self._sentence(index, para, offset, sentence)
        present = {e.id for e in self.events}
        self.events.extend(e for e in self.undated if e.id not in present)
        return PlanDraft(self.document, self.identity, self.events, len(self.paras))

    def _under_heading(self, index: int, para: Paragraph, heading: Mention) -> None:
        """A task listed under a month or quarter heading: it happens in that month."""
        sentence = sentences(para)[0][1] if sentences(para) else para.text
        cleaned = _clean_clause(sentence)
        if len(cleaned.split()) < 2:
            return
        shape = _shape(heading)
        for hit in self.known.names_in(sentence):
            if hit.known.shape == shape:
                event = self._from_known(hit.known, index, sentence, para.line)
                event.notes.append(f"thời gian theo đề mục “{heading.text}”")
                self._add(event)
                return
        title = _cut(cleaned[:1].upper() + cleaned[1:])
        kind = "campaign" if _CAMPAIGN.search(sentence) else "activity"
        if _DEADLINE_CUE.search(sentence) or re.search(r"\b(?:gửi|nộp)\b", sentence,
                                                        re.IGNORECASE):
            kind = "deadline"
        rule = _rule(heading, self.identity.year, bool(_YEARLY.search(sentence)))
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
            cleaned = _clean_clause(task)
            title = _cut(cleaned[:1].upper() + cleaned[1:]) if cleaned else None
        units = [u.id for n in names
                 if (u := self.book.resolve(n, self.document.name, para.line)) is not None]
        return title, list(dict.fromkeys(units))

    def _units(self, index: int, sentence: str) -> list[str]:
        owners = self.layout.owners.get(index)
        if owners:
            return list(owners)
        body = LIST_MARKER.sub("", sentence.strip(), count=1)
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
                    name = name[:1].upper() + name[1:]
                    unit = self.book.resolve(name.strip(), self.document.name, line)
                    if unit:
                        return unit.id
        return None

    def _keep(self, sentence: str, mention: Mention) -> Mention | None:
        """The mention as an event date, or None when it is not one."""
        prefix = sentence[:mention.start]
        year = self.identity.year
        if _cited(prefix, mention):
            return None
        if _EFFECTIVE.search(prefix) and mention.last is None:
            return None  # "có hiệu lực từ ngày", "kể từ ngày 01/7/2025": a fact, not a task
        issuing = re.search(rf"ban hành\s+(?:{DOC_TYPE})", sentence)
        if issuing and mention.end <= issuing.start() and not _DEADLINE_CUE.search(prefix):
            return None
        if not re.search(r"[^\W\d_]", sentence.replace(mention.text, "")) and (
                re.search(r"\d{1,2}:\d{2}", sentence) or (mention.first[0] and mention.first[2]
                and not mention.last)):
            return None  # a time stamp, or a dated day on a line of its own
        if re.fullmatch(r"\d{1,2}-\d{1,2}", mention.text) and not _LOOSE_CUE.search(prefix) \
                and not self.known.by_shape(("day", mention.first[1], mention.first[2])):
            return None  # "2-3 buổi" is a count, not 2 March
        ends = _last_day(mention)
        if ends and self.identity.issued and ends < self.identity.issued:
            return None  # already past when the plan was signed: background, not a task
        first_year, last_year = mention.first[0], mention.last[0] if mention.last else None
        old = year is not None and first_year is not None and first_year < year - 1
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
        yearly = bool(_YEARLY.search(sentence))
        for raw in find_dates(sentence):
            mention = self._keep(sentence, raw)
            if mention is None:
                if not re.fullmatch(r"\d{1,2}-\d{1,2}", raw.text):  # a count stays in the title
                    previous_end = raw.end
                continue
            prefix = sentence[:mention.start]
            line = para.line_at(offset + mention.start)
            shape = _shape(mention)
            kind = _kind(sentence, prefix, mention)
            matches = self._national(shape, names, kind, sentence)
            for known in matches:
                bound.add(known.event.id)
                event = self._from_known(known, index, sentence, line)
                placed_units = self._placed(index, para, offset, sentence, mention)[1]
                event.units = placed_units or event.units
                if not mention.first[0] and not yearly:
                    event.notes.append("ngày theo lịch quốc gia (hằng năm)")
                if kind == "deadline":
                    event.report_to = self._report_to(index, sentence, line)
                self._add(event)
            if not matches:
                title, units = self._placed(index, para, offset, sentence, mention)
                title = title or _title(sentence, mention, previous_end, kind)
                rule = _rule(mention, self.identity.year, yearly)
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
                  sentence: str) -> list[Known]:
        """The national events this date is (several when `Tháng 6: A và B` names two)."""
        if shape is None:
            return []
        if kind == "deadline":
            deadline = self.known.deadline_for(shape, sentence)
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
        candidate, n = base, 2
        while candidate in self.taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def _add(self, event: Drafted) -> None:
        for other in self.events:
            if other.id == event.id or (other.title == event.title and other.rule == event.rule):
                other.units = _merge_units(other.units, event.units)
                if event.report_to and not other.report_to:
                    other.report_to = event.report_to
                return
        self.taken.add(event.id)
        self.events.append(event)



def _merge_units(first: list[str], second: list[str]) -> list[str]:
    if "all" in first or "all" in second:
        return ["all"]
    return first + [u for u in second if u not in first]


def extract_plan(document: Document, known: KnownEvents, book: UnitBook, taken_ids: set[str],
                 progress: Callable[[int], None] | None = None) -> PlanDraft:
    """Draft the events of one plan; units go into `book`, ids into `taken_ids`."""
    return _PlanReader(document, known, book, taken_ids).run(progress)


def paragraph_count(document: Document) -> int:
    return len(paragraphs(document.lines))

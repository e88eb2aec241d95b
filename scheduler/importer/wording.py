"""How the words around a date read: is it cited, what kind of item, what title, what rule.

Pure functions over one sentence and one `Mention`; `extract` decides which sentences to
read and keeps the state (units, ids, national events).
"""

from __future__ import annotations

import calendar
import re
from datetime import date

from scheduler.importer.dates import Mention, find_dates
from scheduler.importer.identity import DOC_NUMBER, DOC_TYPE
from scheduler.importer.observances import Shape
from scheduler.importer.text import LIST_MARKER

RuleKeys = dict[str, object]

_CITED = [
    re.compile(rf"{DOC_NUMBER}(?:\s*,)?(?:\s+(?:của|do)\s+[^;()]{{1,60}}?)?"
               r"(?:\s+(?:ban hành|ký))?\s*[,(]?\s*$"),
    re.compile(r"\b(?:ban hành|ký|thông qua|phê duyệt|công bố)\s*(?:vào\s*)?$", re.IGNORECASE),
    re.compile(rf"\b(?:{DOC_TYPE})(?:\s+số)?\s*$"),
]
DEADLINE_CUE = re.compile(
    r"(?:trước|chậm nhất(?:\s+(?:là|vào))?|hạn(?:\s+(?:chót|cuối|nộp|gửi))?|không quá|muộn nhất"
    r"|trước hoặc trong|trong hạn|hoàn thành trong)"
    r"(?:\s+\d{1,2}\s*(?:giờ|h)(?:\s*\d{2}(?:\s*phút)?)?,?)?\s*[(:]?\s*$", re.IGNORECASE)
LOOSE_CUE = re.compile(r"(?:ngày|từ|đến|dịp|kỷ niệm|hưởng ứng|chào mừng|trước|sau|vào)\s*$",
                       re.IGNORECASE)
EFFECTIVE = re.compile(r"(?:kể từ|hiệu lực(?:\s+thi hành)?(?:\s+kể)?(?:\s+từ)?)\s*$",
                       re.IGNORECASE)
QUANTITY_AFTER = re.compile(
    r"\s*(?:tuổi|lần|buổi|người|%|giờ|tiết|cuộc|lớp|bài|tin|hộ|học sinh|em|đợt|km|kg|triệu|tỷ"
    r"|nghìn|đồng|số|tổng|trở lên|dân số|thời gian|thành viên|đơn vị|xã|thôn|trường)\b",
    re.IGNORECASE)
QUANTITY_BEFORE = re.compile(r"(?:đạt|trên|dưới|khoảng|ít nhất|tối thiểu|tối đa|chiếm|hơn|gần"
                             r"|tỷ lệ|lớp)\s*$", re.IGNORECASE)
SINCE = re.compile(r"^\W*(?:[Kk]ể\s+)?[Tt]ừ\s*$")
YEARLY = re.compile(r"\b(?:hằng|hàng|mỗi)\s+năm\b|\bđịnh kỳ\b|\bthường niên\b", re.IGNORECASE)
CAMPAIGN = re.compile(r"tháng hành động|chiến dịch|cao điểm|tuần lễ|tháng cao điểm|đợt ra quân"
                      r"|phát động|hưởng ứng tháng|ngày hành động", re.IGNORECASE)
# `kỷ niệm`, or a named day: `Ngày Pháp luật Việt Nam`, `ngày Quốc tế ...` (not `Ngày 20/10`).
OBSERVANCE = re.compile(r"[Kk]ỷ niệm|[Cc]hào mừng|[Hh]ưởng ứng ngày|[Nn]gày\s+(?:toàn dân"
                        r"|truyền thống|thành lập|thế giới|quốc tế|[A-ZĐÀ-Ỹ])")
_OBSERVANCE_NAME = re.compile(r"\b[Nn]gày\s+(?:Quốc tế|Thế giới|toàn dân|truyền thống|thành lập"
                              r"|[A-ZĐ])[^,;.()\d]{3,80}")
REPORT = re.compile(r"\b(?:báo cáo|gửi|nộp)\b", re.IGNORECASE)
_TRAILING = re.compile(
    r"(?:\s+|^)(?:trước|chậm nhất|vào|từ|trong|ngày|dịp|đến|hạn|là|lúc|tại|kể từ|bắt đầu|dự kiến|"
    r"khoảng|nhân dịp|(?:vào\s+)?(?:buổi\s+)?(?:sáng|chiều|tối)|"
    r"thời gian|thời hạn|và|hoặc|,|:|\(|-|\d{1,2}\s*(?:giờ|h)(?:\s*\d{2}(?:\s*phút)?)?)\s*$",
    re.IGNORECASE)
_LEADING = re.compile(r"^(?:[-+•,;:)\s]|và\s|hoặc\s|Đồng thời,?\s|đồng thời,?\s)+")
_REPORT_TITLE = re.compile(r"\b[Bb]áo cáo\b((?:\s+(?!về\b|gửi\b|cho\b|lên\b|tới\b|qua\b|để\b"
                           r"|trước\b|chậm\b|theo\b|tại\b|và\b)[^\s,;:()]+){0,12})")
_WEEKDAY = re.compile(r"\b(?:[Tt]hứ\s+(?:[Hh]ai|[Bb]a|[Tt]ư|[Nn]ăm|[Ss]áu|[Bb]ảy|[2-7])"
                      r"|[Cc]hủ\s+[Nn]hật)\b,?")
MAX_TITLE = 90
# A document issued or received, reported after its date: "Ngày 20/02/2025, Bộ Nội vụ đã có
# Công văn số ...", "Ngày 09/4, UBND huyện ban hành Kế hoạch ...".
ISSUING = re.compile(rf"\b(?:ban hành|ký(?: ban hành)?|phát hành|thông qua|phê duyệt"
                     rf"|đã\s+(?:có|gửi|nhận được|nhận))\s+(?:các\s+)?(?:{DOC_TYPE})\b")
_CLOCK = r"\d{1,2}\s*[:hg]\s*\d{2}(?:\s*(?:AM|PM|SA|CH))?"
_STAMP_BEFORE = re.compile(
    rf"(?:^|[|\s,(])(?:{_CLOCK}|(?:[Tt]hứ\s+(?:[Hh]ai|[Bb]a|[Tt]ư|[Nn]ăm|[Ss]áu|[Bb]ảy|[2-7])"
    r"|[Cc]hủ\s+[Nn]hật))[\s,|-]*(?:(?:[Tt]hứ\s+\w+|[Cc]hủ\s+[Nn]hật)[\s,|-]*)?(?:ngày\s*)?$")
_STAMP_AFTER = re.compile(rf"^[\s,|-]*(?:lúc\s+)?{_CLOCK}\b")
_AT_TIME = re.compile(rf"(?:lúc|vào|từ|bắt đầu)\s*{_CLOCK}[\s,]*(?:ngày\s*)?$", re.IGNORECASE)
# Page furniture: "Cập nhật lần cuối: ...", "Ngày đăng: ...", "Lượt xem".
POSTED = re.compile(r"^\W*(?:[Cc]ập nhật|[Nn]gày đăng|[Đđ]ăng (?:ngày|lúc|tải)|[Nn]gày cập nhật"
                    r"|[Tt]hời gian đăng|[Nn]gày xuất bản|[Xx]uất bản|[Ll]ượt xem|[Nn]guồn)\b")
_OPENS_WITH_DATE = re.compile(r"^\W*(?:[Vv]ào\s+)?(?:[Nn]gày\s*)?$")
_PAST = re.compile(r"\bđã\b")


def cited(prefix: str, mention: Mention) -> bool:
    """Whether the date after `prefix` is the date of a cited document."""
    before = prefix
    if not mention.text.lower().startswith("ngày"):
        before = re.sub(r"\bngày\s*$", "", before, flags=re.IGNORECASE)
    before = before.rstrip()
    return any(p.search(before[-160:]) for p in _CITED)


def stamp(sentence: str, mention: Mention) -> bool:
    """A web page's time stamp: a date beside a clock time, with or without a weekday
    ("Thứ Tư, 12/04/2023 08:30", "14:05, Thứ Sáu, 7-7-2023"); "lúc 8:00 ngày ..." is not."""
    before = sentence[:mention.start]
    if _AT_TIME.search(before[-40:]):
        return False
    clock_before = _STAMP_BEFORE.search(before[-40:])
    clock_after = _STAMP_AFTER.match(sentence[mention.end:mention.end + 20])
    if clock_after:
        return True
    return bool(clock_before and re.search(_CLOCK, clock_before.group()))


def reported(sentence: str, mention: Mention) -> bool:
    """A sentence that opens with a date and reports what was done or issued on it
    ("Ngày 20/02/2025, Bộ Nội vụ đã có Công văn ...", "Ngày 5/3, UBND xã đã tổ chức ...")."""
    if not _OPENS_WITH_DATE.match(sentence[:mention.start]):
        return False
    rest = sentence[mention.end:]
    if not rest.lstrip().startswith(","):
        return False
    return bool(ISSUING.search(rest) or _PAST.search(rest.split(";")[0]))


def precise(mention: Mention) -> bool:
    """A day or a span of days, not a whole month or quarter (`sơ kết quý I` is a subject)."""
    if mention.rrule:
        return True
    if mention.last is None:
        return mention.first[2] != 0
    (_, _, fd), (ly, lm, ld) = mention.first, mention.last
    return not (fd == 1 and ld == calendar.monthrange(ly or 2023, lm)[1])


def last_day(mention: Mention) -> date | None:
    """The last day a fully dated mention covers (None when a year is missing)."""
    year, month, day = mention.last or mention.first
    if year is None or month == 0:
        return None
    return date(year, month, day or calendar.monthrange(year, month)[1])


def shape(mention: Mention) -> Shape | None:
    """The date's shape for comparing with national rules (None for an RRULE)."""
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


def rule(mention: Mention, year: int | None, yearly: bool) -> RuleKeys:
    """The calendar-file keys of the date: dated, or yearly when the text says so."""
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


def due_day(rule: RuleKeys) -> RuleKeys:
    """A deadline given as a month or a span is due on its last day ("trong tháng 11")."""
    if "month" in rule:
        month = rule["month"]
        if isinstance(month, int):
            return {"date": f"{month:02d}-{calendar.monthrange(2023, month)[1]:02d}"}
        year, number = (int(part) for part in str(month).split("-"))
        return {"date": f"{year}-{number:02d}-{calendar.monthrange(year, number)[1]:02d}"}
    if "end" in rule and "rrule" not in rule:
        return {"date": rule["end"]}
    return rule


def cut(text: str, limit: int = MAX_TITLE) -> str:
    """A title of at most `limit` characters, cut at a word."""
    text = " ".join(text.split()).strip(" ,;:-.")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return _TRAILING.sub("", cut).rstrip(" ,;:-") + "…"


def clean_clause(text: str) -> str:
    """A clause without its dates, list marker, weekday and dangling cue words."""
    for mention in reversed(find_dates(text)):
        if re.search(r"\d", mention.text):  # "sơ kết quý I" keeps its subject
            text = text[:mention.start] + text[mention.end:]
    text = _WEEKDAY.sub("", text)
    text = _CONTACT.sub("", text)  # "(điện thoại: 0258..., email: ...)" is not the task
    text = re.sub(r"(?:\.{2,}|…)(?:\s*/\s*(?:\.{2,}|…))*", " ", text)  # "ngày .../..." blanks
    text = re.sub(r"\([^)]*\)?\s*$", "", text)  # a trailing "(từ ngày ..." remnant
    text = re.sub(r"\(\s*\)", "", text)
    text = LIST_MARKER.sub("", text.strip(), count=1)
    text = _LEADING.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING.sub("", text).strip()
    text = text.strip(" ,;:-")
    for quote in ('"', "“", "”"):  # an unpaired quote at either end is debris
        if text.count('"') % 2 or text.count("“") != text.count("”"):
            text = text.strip(quote)
    return text.strip(" ,;:-")


# Words that open a sentence but are not its task: discourse markers, a purpose clause, and
# a short subject with "sẽ" ("Theo đó, huyện sẽ tổ chức ..." → "Tổ chức ...").
_DISCOURSE = re.compile(r"^(?:Theo kế hoạch|Theo đó|Cụ thể|Đồng thời|Bên cạnh đó|Ngoài ra"
                        r"|Trong đó|Qua đó|Tiếp theo|Sau đó|Từ đó|Như vậy|Trước đó)\b[,:]?\s*",
                        re.IGNORECASE)
_PURPOSE = re.compile(r"^(?:Để|Nhằm)\s[^,;:]*(?:[,;:]\s*|$)", re.IGNORECASE)
_FUTURE_SUBJECT = re.compile(r"^(?:[^\s,;]+\s+){0,5}?(?:sẽ|dự kiến sẽ|dự kiến)\s+")
_SENDING = re.compile(r"^(?:[Gg]ửi|[Nn]ộp)(?:\s+(?:báo cáo|kết quả|văn bản|số liệu))?\s+về\b")
_CONTACT = re.compile(r"\([^()]*(?:\d{3,}|@)[^()]*\)?")


# Words that open an organisation's name (a following word that makes them a common noun
# is listed against them: "hội nghị", "ban hành", "phòng chống" are not names).
_ORG_HEADS: dict[tuple[str, ...], frozenset[str]] = {
    ("bộ",): frozenset({"phận", "đội", "máy", "tiêu", "công", "sách"}),
    ("sở",): frozenset(), ("cục",): frozenset(), ("viện",): frozenset(),
    ("phòng",): frozenset({"chống", "ngừa", "họp", "khám"}),
    ("ban",): frozenset({"hành", "đầu", "ngày"}),
    ("hội",): frozenset({"nghị", "thi", "thảo", "diễn", "viên", "họp", "trại", "chợ"}),
    ("trung", "tâm"): frozenset(), ("ủy", "ban"): frozenset(), ("uỷ", "ban"): frozenset(),
    ("liên", "đoàn"): frozenset(), ("văn", "phòng"): frozenset(),
    ("ngày",): frozenset("0123456789") | frozenset({"đầu", "cuối", "làm", "nghỉ", "hội"}),
}
_NAME_STOPS = {"về", "của", "tại", "cho", "trong", "năm", "để", "với", "theo", "đến", "từ",
               "nhằm", "trên", "dưới", "tổ", "thực", "phối", "các", "những", "gửi", "trước",
               "sau", "vào", "lần", "thứ"}
_ACRONYMS = {"UBND", "HĐND", "MTTQ", "LHPN", "TNCS", "HCM", "LĐTBXH", "VHTTDL", "BCĐ", "BHXH"}


def _org_head(words: list[str], index: int) -> int:
    """How many words an organisation head takes at `index` (0 when none)."""
    for head, not_after in _ORG_HEADS.items():
        size = len(head)
        if tuple(w.lower() for w in words[index:index + size]) == head:
            following = words[index + size].lower() if index + size < len(words) else ""
            if following and following not in not_after and following[:1] not in not_after:
                return size
    return 0


def sentence_case(text: str) -> str:
    """An all-caps heading in sentence case, organisation names capitalised as Vietnamese
    writes them: `BÁO CÁO GỬI BỘ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI` → `Báo cáo gửi Bộ Lao động
    - Thương binh và Xã hội`. Mixed-case text is returned as written."""
    letters = [c for c in text if c.isalpha()]
    if not letters or sum(c.isupper() for c in letters) < 0.8 * len(letters):
        return text
    words = text.split()
    out: list[str] = []
    in_name = False  # inside an organisation's name: each part starts with a capital
    capital_next = True
    index = 0
    while index < len(words):
        word = words[index]
        bare = word.strip("\"“”(),;:.").lower()
        if word.strip("\"“”(),;:.") in _ACRONYMS:
            out.append(word)
            capital_next, index = False, index + 1
            continue
        head = _org_head([w.strip("\"“”(),;:.") for w in words], index)
        if head:
            lowered = [w.lower() for w in words[index:index + head]]
            out += [lowered[0][:1].upper() + lowered[0][1:], *lowered[1:]]
            in_name, capital_next, index = True, True, index + head
            continue
        if in_name and bare in _NAME_STOPS:
            in_name = False
        lower = word.lower()
        out.append(lower[:1].upper() + lower[1:] if capital_next else lower)
        capital_next = in_name and (word == "-" or bare == "và" or word.endswith(","))
        index += 1
    return " ".join(out)


def task_words(text: str) -> str:
    """A clause without what opens it but is not the task (`Theo đó,`, `Để ...,`, `X sẽ`)."""
    previous = None
    while previous != text:
        previous = text
        text = _DISCOURSE.sub("", text)
        text = _PURPOSE.sub("", text)
        text = _FUTURE_SUBJECT.sub("", text, count=1)
    return text[:1].upper() + text[1:] if text else text


def title(sentence: str, mention: Mention, previous_end: int, kind: str) -> str:
    """The task or report a date belongs to, in the plan's own words."""
    start = max(sentence.rfind(";", 0, mention.start) + 1, previous_end)
    before = sentence[start:mention.start]
    if ":" in before:
        left, right = before.rsplit(":", 1)
        before = right if len(clean_clause(right).split()) >= 2 else left
    title = task_words(clean_clause(before))
    if (_SENDING.match(title) or len(title.split()) < 3) and start > 0:
        # "Rà soát số liệu ...; gửi báo cáo về Sở ... trước ngày", "Tổ chức lễ phát động;
        # hoàn thành trước ngày ...": the task is the part before.
        earlier = sentence[max(sentence.rfind(";", 0, start - 1) + 1, previous_end):start - 1]
        task = task_words(clean_clause(earlier))
        if len(task.split()) >= 3:
            title = task
    if kind == "deadline" and 0 < len(title.split()) <= 2 and "báo cáo" in sentence.lower() \
            and "báo cáo" not in title.lower():
        return f"Báo cáo {title.lower()}"  # "báo cáo 6 tháng (trước ...) và năm (trước ...)"
    if len(title.split()) < 2:
        after = re.split(r"[;.]", sentence[mention.end:], maxsplit=1)[0]
        title = task_words(clean_clause(after)) or title
    if kind == "observance":
        named = _OBSERVANCE_NAME.search(sentence[start:mention.end + 40])
        if named:
            title = clean_clause(named.group())
    if kind == "deadline":
        report = _REPORT_TITLE.search(title)
        if report and report.group(1).strip():
            title = "Báo cáo" + report.group(1)
    title = sentence_case(cut(title) or cut(clean_clause(sentence)))
    return title[:1].upper() + title[1:] if title else "Mục trong kế hoạch"


def kind(sentence: str, clause: str, prefix: str, mention: Mention) -> str:
    """The kind of item a date is, from the cue before it and the words of its clause."""
    if DEADLINE_CUE.search(prefix) or (mention.rrule and REPORT.search(sentence)):
        return "deadline"
    if CAMPAIGN.search(clause) and (mention.last or mention.first[2] == 0):
        return "campaign"
    if mention.last is None and mention.first[2] and OBSERVANCE.search(clause):
        return "observance"
    return "activity"

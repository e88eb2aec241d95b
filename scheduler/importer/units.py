"""Units a plan names: its organisation section, its `Nơi nhận`, and where reports go.

`TỔ CHỨC THỰC HIỆN` lists one responsible unit per numbered item (`2. Phòng Tư pháp:`,
`8. Công an huyện`, `7. Đề nghị Ủy ban MTTQ huyện; Hội LHPN huyện và ... trong phạm vi`);
`Nơi nhận` lists recipients, minus superiors (`(b/c)`), leaders and the archive. Names
are compared by a key (abbreviations expanded, diacritics and locality words dropped) so
`UBND các xã, thị trấn` and `Ủy ban nhân dân các xã, thị trấn` are one unit, and a
configured unit's aliases map an old name to today's unit.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from scheduler.importer.text import LIST_MARKER, slug, words
from scheduler.model import Unit

# How unit names start (capitalised as written); a few verbs share a first word.
ORG_START = re.compile(
    r"^(?:Đề nghị\s+)?(?:Văn phòng|Phòng(?!\s+(?:ngừa|chống|,))|Ủy ban|Uỷ ban|UB\w*|UBND|HĐND"
    r"|Hội đồng|Hội(?!\s+(?:nghị|thảo|thi|diễn|viên|họp))|Công an|Trạm|Trường(?!\s+hợp)"
    r"|Các trường|Ban(?!\s+hành)|Sở|Đoàn|Huyện đoàn|Thành đoàn|Liên đoàn|Trung tâm|Chi cục"
    r"|Ngân hàng|Bảo hiểm|Công chức|Cán bộ|Đài|Cơ quan|Bộ phận|Tòa án|Toà án|Viện kiểm sát"
    r"|Chi nhánh|Bệnh viện|Mặt trận|MTTQ|Kho bạc|Bưu điện|Thanh tra|Ban Chỉ huy|Đồn|Chi hội"
    r"|Liên minh|Thường trực|Bộ Chỉ huy|Hạt|Tổ công tác|Đảng ủy|Đảng uỷ|Chi bộ)\b")
_ROLE_SPLIT = re.compile(r"\s+-\s+(?=(?:Cơ quan|Thường trực|cơ quan|thường trực|Đơn vị|đơn vị)\b)")
_PREDICATE = re.compile(
    r"\s+(?:căn cứ|chủ động|chủ trì|tham mưu|phối hợp|trong phạm vi|(?<!các )tổ chức|xây dựng"
    r"|thực hiện|chịu trách nhiệm|có trách nhiệm|tiếp tục|theo dõi|hướng dẫn|đẩy mạnh"
    r"|triển khai|tăng cường|là cơ quan|làm đầu mối|rà soát|nghiên cứu|kiểm tra|bố trí"
    r"|cung cấp|lồng ghép|duy trì|đề xuất|báo cáo|quán triệt|phổ biến|tuyên truyền|giám sát"
    r"|vận động|thống kê|nâng cao|đôn đốc|tích cực|chỉ đạo|đảm bảo|bảo đảm|thường xuyên"
    r"|có nhiệm vụ|được giao|với vai trò|để|theo|trước|chậm nhất|tổng hợp|nhằm|gửi)\b")
_ABBREVIATIONS = {
    "ubnd": "uy ban nhan dan", "hdnd": "hoi dong nhan dan", "mttq": "mat tran to quoc",
    "ubmttq": "uy ban mat tran to quoc", "ubmttqvn": "uy ban mat tran to quoc",
    "ldtbxh": "lao dong thuong binh va xa hoi", "tbxh": "thuong binh va xa hoi",
    "lhpn": "lien hiep phu nu", "vhttdl": "van hoa the thao va du lich",
    "gddt": "giao duc va dao tao", "tncs": "thanh nien cong san", "hcm": "ho chi minh",
    "nhcsxh": "ngan hang chinh sach xa hoi", "bhxh": "bao hiem xa hoi",
    "ldld": "lien doan lao dong", "vstbpn": "vi su tien bo cua phu nu",
    "tbpn": "tien bo cua phu nu", "vh": "van hoa", "xh": "xa hoi", "ct": "chinh tri",
    "tckh": "tai chinh ke hoach", "ubkt": "uy ban kiem tra", "ttyt": "trung tam y te",
}
_LOCALITY = ("huyen", "xa", "phuong", "thi tran", "tinh", "quan", "thi xa", "thanh pho",
             "cap huyen", "cap xa", "cap tinh", "viet nam", "dac khu", "cong san ho chi minh",
             "ho chi minh")
_SKIP_RECIPIENT = re.compile(
    r"b/c|để báo cáo|để biết|^(?:như trên|như điều|lưu|chủ tịch|phó chủ tịch|ct\b|pct\b"
    r"|bí thư|lãnh đạo|lđ\b|ttr?\b|thành viên|đ/c|đồng chí|website|cổng|trang|\d)",
    re.IGNORECASE)


# Bodies a plan reports to rather than tasks: party committees, councils and their standing
# committees, the government and ministries; and a people's committee above the issuer's.
_GOVERNING = re.compile(r"^(?:Thường trực|Ban Thường vụ|Tỉnh ủy|Tỉnh uỷ|Thành ủy|Thành uỷ"
                        r"|Huyện ủy|Huyện uỷ|Thị ủy|Thị uỷ|Quận ủy|Quận uỷ|Đảng ủy|Đảng uỷ"
                        r"|HĐND|Hội đồng nhân dân|Chính phủ|Thủ tướng|Văn phòng Chính phủ|Quốc hội"
                        r"|Ban Bí thư|Trung ương|Bộ(?!\s+Chỉ huy)\s)")
_COMMITTEE = re.compile(r"^(?:UBND|Ủy ban nhân dân|Uỷ ban nhân dân)\b")
_LEVELS = ((4, re.compile(r"^(?:Chính phủ|Thủ tướng|Quốc hội|Bộ(?!\s+Chỉ huy)\s|Trung ương)")),
           (3, re.compile(r"\btỉnh\b|^Sở\s|thành phố trực thuộc", re.IGNORECASE)),
           (2, re.compile(r"\b(?:huyện|quận|thị xã|thành phố)\b|^Phòng\s", re.IGNORECASE)),
           (1, re.compile(r"\b(?:xã|phường|thị trấn|đặc khu)\b", re.IGNORECASE)))


def level(name: str) -> int | None:
    """The administrative level a name belongs to: 4 national ... 1 commune (None: unknown)."""
    return next((rank for rank, pattern in _LEVELS if pattern.search(name)), None)


def superior(name: str, issuer: str | None) -> bool:
    """Whether `name` is a body the issuer reports to, not a unit that carries out tasks."""
    if re.search(r"\bcác\b", name, re.IGNORECASE):
        return False  # "UBND các xã": the units below
    own = level(issuer) if issuer else None
    if _GOVERNING.match(name):
        return not (own == 4 and level(name) == 4)
    if _COMMITTEE.match(name):
        theirs = level(name)
        return theirs is not None and own is not None and theirs > own
    return False


@functools.lru_cache(maxsize=4096)
def unit_key(name: str) -> str:
    """The comparison key of a unit name: `Phòng LĐ-TBXH huyện` ~ `Phòng Lao động ...`."""
    tokens: list[str] = []
    for token in words(name):
        tokens.extend(_ABBREVIATIONS.get(token, token).split())
    if tokens[:2] == ["de", "nghi"]:
        tokens = tokens[2:]
    changed = True
    while changed and len(tokens) > 2:
        changed = False
        for locality in _LOCALITY:
            tail = locality.split()
            if tokens[-len(tail):] == tail and tokens[-len(tail) - 1] != "cac":
                tokens = tokens[:-len(tail)]
                changed = len(tokens) > 2
                break
    return " ".join(tokens)


def _tidy(name: str) -> str:
    name = re.sub(r"\s*\([^)]*\)\s*$", "", name.strip())
    name = re.sub(r"^(?:Đề nghị|đề nghị)\s+", "", name)
    name = re.sub(r"(?:\s*[,;:.\-]|\s+(?:và|các|và các|cùng))+$", "", name)
    return name.strip(" ,;:.-")


def split_names(text: str) -> list[str]:
    """`A, B và C` → the unit names in it; `UBND các xã, thị trấn` stays whole."""
    pieces = re.split(r"(;\s*|,\s+|\s+và\s+)", text)
    names: list[str] = []
    glue = ""
    for index, piece in enumerate(pieces):
        if index % 2:
            glue = piece
            continue
        part = _tidy(piece)
        if not part:
            continue
        starts_unit = bool(ORG_START.match(part)) or part.lower().startswith("các ")
        hdnd_ubnd = (names and re.match(r"(?:UBND|Ủy ban nhân dân)\b", part)
                     and re.search(r"(?:HĐND|Hội đồng nhân dân)$", names[-1]))
        if names and (not starts_unit or hdnd_ubnd) and not glue.startswith(";"):
            names[-1] = f"{names[-1]}{glue}{part}"  # Văn phòng HĐND và UBND; Giáo dục và Đào tạo
        elif starts_unit:
            names.append(part)
    return [_tidy(n) for n in names]


def item_unit_names(text: str) -> tuple[list[str], list[str]]:
    """The unit names an organisation item opens with, and role aliases (`- Cơ quan ...`).

    Empty when the item does not start with a unit (a task, a collective `Các phòng ...`).
    """
    body = LIST_MARKER.sub("", text, count=1).strip()
    body = re.sub(r"^(?:Đề nghị|đề nghị)\s+", "", body)
    if not (ORG_START.match(body) or body.startswith("Các ")):
        return [], []
    head = None
    colon = body.find(":")
    if 0 < colon <= 140:
        head = body[:colon]
    elif len(body) <= 110 and (not body.endswith(".") or len(body.split()) <= 12):
        head = body
    whole = head is not None
    if head is None:
        cut = _PREDICATE.search(body)
        head = body[:cut.start()] if cut else " ".join(body.split()[:14])
        if head.startswith("Các "):
            return [], []
    pieces = _ROLE_SPLIT.split(head)
    aliases = [_tidy(p) for p in pieces[1:] if _tidy(p)]
    names = [n for n in split_names(pieces[0])
             if (whole and len(split_names(pieces[0])) == 1) or not n.lower().startswith("các ")]
    return names, aliases


def recipient_names(text: str, issuer: str | None = None) -> list[str]:
    """The unit names of one `Nơi nhận` or `Kính gửi` line (none for superiors, leaders,
    the archive)."""
    body = re.sub(r"^[-+•]\s*", "", text).strip().rstrip(";.")
    if _SKIP_RECIPIENT.search(body):
        return []
    return [n for n in split_names(body)
            if ORG_START.match(n) and not n.lower().startswith("các ")
            and not superior(n, issuer)]


@dataclass
class DraftUnit:
    """A unit the draft defines: its id, name, the names the plan used, where it was read."""

    id: str
    name: str
    key: str
    aliases: list[str] = field(default_factory=list)
    line: int = 0
    file: str = ""
    matched: str | None = None  # the configured unit's id when aliases matched


class UnitBook:
    """The units of a draft, deduplicated by key, matched to configured units if any."""

    def __init__(self, configured: Sequence[Unit] = ()) -> None:
        self.units: list[DraftUnit] = []
        self._by_key: dict[str, DraftUnit] = {}
        self._configured: dict[str, Unit] = {}
        for unit in configured:
            for name in (unit.name, *unit.aliases, unit.id.replace("-", " ")):
                self._configured.setdefault(unit_key(name), unit)

    def add(self, name: str, file: str, line: int, aliases: Iterable[str] = ()) -> DraftUnit:
        """The unit called `name`, created on first mention."""
        key = unit_key(name)
        found = self._by_key.get(key)
        if found is None:
            configured = self._configured.get(key)
            if configured is not None:
                existing = next((u for u in self.units if u.id == configured.id), None)
                found = existing or DraftUnit(configured.id, configured.name, key, line=line,
                                              file=file, matched=configured.id)
            else:
                found = DraftUnit(self._new_id(name), name, key, line=line, file=file)
            if found not in self.units:
                self.units.append(found)
            self._by_key[key] = found
        for alias in (name, *aliases):
            if alias != found.name and alias not in found.aliases:
                found.aliases.append(alias)
            self._by_key.setdefault(unit_key(alias), found)
        return found

    def _new_id(self, name: str) -> str:
        base = slug(name, 70)
        taken = {u.id for u in self.units} | {u.id for u in self._configured.values()} | {"all"}
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}-{n}", n + 1
        return candidate

    def knows(self, key: str) -> bool:
        """Whether `key` is the key of a name or alias of a unit of the draft."""
        return key in self._by_key

    def lookup(self, text: str) -> DraftUnit | None:
        """The known unit whose name opens `text` (longest name wins)."""
        key = unit_key(text)
        best: DraftUnit | None = None
        best_len = 0
        for unit_k, unit in self._by_key.items():
            if (key == unit_k or key.startswith(unit_k + " ")) and len(unit_k) > best_len:
                best, best_len = unit, len(unit_k)
        return best

    def resolve(self, text: str, file: str, line: int) -> DraftUnit | None:
        """A unit named in running text (`qua Phòng ...`): known, configured, or new."""
        found = self.lookup(text)
        if found:
            return found
        cut = _PREDICATE.search(" " + text)
        name = _tidy((" " + text)[:cut.start()] if cut else text)
        if not name or not ORG_START.match(name) or len(name.split()) > 16:
            return None
        return self.add(name, file, line)

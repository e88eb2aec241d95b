"""Property: whatever text a plan holds, the importer drafts a calendar that validates.

Random plans are built from the pieces real plans are made of (dates in every written
form, citations, unit names, list markers, headings, Nơi nhận), so the rules meet each
other in orders no fixture has.
"""

from __future__ import annotations

import tempfile
import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.calendar import read_calendar
from scheduler.config import load_config, national_calendar_path
from scheduler.importer import draft_files, to_json, to_toml
from scheduler.model import Event
from scheduler.reader import Reader
from scheduler.tomlfile import load_toml

PIECES = [
    "Báo cáo 6 tháng", "trước ngày", "chậm nhất ngày 20 của tháng cuối quý", "hằng quý",
    "10/6/2024", "15/11-15/12", "ngày 28 tháng 6", "tháng 7/2026", "tháng 6 hằng năm", "8-3",
    "2-3 buổi", "Quyết định số 1790/QĐ-TTg ngày 23/10/2021", "giai đoạn 2021-2025",
    "(08/3/1910 - 08/3/2026)", "Tháng hành động vì bình đẳng giới", "Ngày Quốc tế Phụ nữ",
    "Phòng Văn hóa – Xã hội", "(qua Phòng Tư pháp)", "gửi về UBND xã", "Công an xã",
    "Đề nghị Hội LHPN xã", "UBND các xã, thị trấn", "IV. TỔ CHỨC THỰC HIỆN", "Nơi nhận:",
    "- Lưu: VT.", "1.", "a)", "-", "+", ":", ";", ".", ",", "|", "Quý II/2026", "Thời gian:",
    "Tháng 3:", "từ tháng 8 đến tháng 10/2026", "định kỳ", "năm 2026", "Số: 12/KH-UBND",
    "Hòa An, ngày 05 tháng 01 năm 2026", "KẾ HOẠCH", "**", "\u00a0", "\u0301", "\n", "\n\n",
    "31/2", "0/0", "99/99/9999", "ngày 0 tháng 13", "tổ chức hội nghị", "kỷ niệm",
]


def _national() -> list[Event]:
    return list(read_calendar(Reader(load_toml(national_calendar_path(), "n"), [])).events)


NATIONAL = _national()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=120),
       st.lists(st.sampled_from([" ", "", "\n"]), min_size=120, max_size=120))
def test_any_plan_gives_a_valid_calendar(pieces: list[str], glue: list[str]) -> None:
    text = "".join(p + g for p, g in zip(pieces, glue, strict=False))
    if not text.strip():
        text = "KẾ HOẠCH"
    with tempfile.TemporaryDirectory() as folder:
        plan = Path(folder) / "plan.txt"
        plan.write_text(text, encoding="utf-8")
        draft = draft_files([plan], NATIONAL)
        toml_text = to_toml(draft)
        tomllib.loads(toml_text)
        to_json(draft)
        calendar = Path(folder) / "draft.toml"
        calendar.write_text(toml_text, encoding="utf-8")
        config = load_config(Path(folder) / "none.toml", calendars=[str(calendar)],
                             allow_missing=True)
        assert len([e for e in config.events if e.file.endswith("draft.toml")]) == len(
            draft.events)

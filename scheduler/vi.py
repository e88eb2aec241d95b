"""Vietnamese wording shared by every user-facing output: dates, weekdays, kinds."""

from __future__ import annotations

import unicodedata
from datetime import date

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

KIND_LABELS = {
    "observance": "Ngày kỷ niệm",
    "campaign": "Tháng hành động",
    "deadline": "Hạn báo cáo",
    "activity": "Hoạt động",
}


def short_date(day: date) -> str:
    """`10/06/2026`: the form officers write in tables and emails."""
    return day.strftime("%d/%m/%Y")


def weekday(day: date) -> str:
    """`Thứ Tư`."""
    return WEEKDAYS[day.weekday()]


def dated_with_weekday(day: date) -> str:
    """`Thứ Tư, 10/06/2026`."""
    return f"{weekday(day)}, {short_date(day)}"


def formal_date(day: date) -> str:
    """`ngày 10 tháng 6 năm 2026`: the form of official documents."""
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def date_range(start: date, end: date) -> str:
    """`10/06/2026` for one day, `15/11/2026 – 15/12/2026` for a span."""
    if start == end:
        return short_date(start)
    return f"{short_date(start)} – {short_date(end)}"


def date_range_with_weekdays(start: date, end: date) -> str:
    """`Thứ Tư, 10/06/2026`, or for a span each end with its own weekday:
    `Chủ nhật, 15/11/2026 – Thứ Ba, 15/12/2026` (one weekday after a range reads as if
    it belonged to the end)."""
    if start == end:
        return dated_with_weekday(start)
    return f"{dated_with_weekday(start)} – {dated_with_weekday(end)}"


def event_label(kind: str, title: str) -> str:
    """What an item is, for an email or the upcoming list: a deadline is a report deadline
    only when its title says it is a report (`báo cáo`); `Đăng tối thiểu 02 tin, bài` is a
    plain deadline (`Thời hạn thực hiện`)."""
    if kind == "deadline":
        text = unicodedata.normalize("NFC", title).casefold()
        return "Hạn báo cáo" if "báo cáo" in text else "Thời hạn thực hiện"
    return KIND_LABELS[kind]


def moved_deadline_note(written: date, reason: str, target: date) -> str:
    """The note for a deadline on a day off, shared by the emails and the index page."""
    return (f"hạn {short_date(written)} rơi vào {reason}; đề nghị hoàn thành trước ngày "
            f"làm việc liền trước, {dated_with_weekday(target)}")

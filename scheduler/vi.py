"""Vietnamese wording shared by every user-facing output: dates, weekdays, kinds."""

from __future__ import annotations

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

"""The follow-up register, pure: for a year, each occurrence that needs a confirmation
with every responsible unit, confirmed (when, reference, by whom) or not, and how many
working days overdue — and its JSON (DESIGN.md "status --format json"), CSV and XLSX forms.

Rows are sorted by due day, then unit id, then event id.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import NamedTuple

from scheduler import vi
from scheduler.config import Config
from scheduler.followup.policy import (
    coordinator_of,
    due_day,
    followed_occurrences,
    overdue_working_days,
    responsible_units,
)
from scheduler.store import Confirmation

BY_LABELS = {"unit": "Đơn vị tự xác nhận", "coordinator": "Cơ quan thường trực",
             "operator": "Quản trị hệ thống"}
CSV_HEADER = ("Hạn", "Mã sự kiện", "Nội dung", "Mã đơn vị", "Đơn vị", "Trạng thái",
              "Thời điểm xác nhận", "Số, ký hiệu báo cáo", "Người xác nhận", "Số ngày quá hạn")


class RegisterRow(NamedTuple):
    """One (occurrence, responsible unit) of the register (a NamedTuple: a national
    register has ~200,000 of them a year)."""

    event: str
    title: str
    due: date
    unit: str
    unit_name: str
    coordinator: str | None
    confirmed_at: datetime | None
    ref: str | None
    by: str | None
    overdue_days: int

    @property
    def status(self) -> str:
        """"Đã gửi", "Quá hạn N ngày" or "Chưa gửi"."""
        if self.confirmed_at is not None:
            return "Đã gửi"
        if self.overdue_days:
            return f"Quá hạn {self.overdue_days} ngày"
        return "Chưa gửi"


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def build_register(config: Config, year: int, confirmations: Iterable[Confirmation],
                   today: date, event: str | None = None, unit: str | None = None,
                   coordinator: str | None = None) -> list[RegisterRow]:
    """The register of `year` (due days in it), optionally of one event, unit or
    coordinator (the occurrences whose reports go to it)."""
    start, end = year_bounds(year)
    confirmed = {(c.due, c.unit, c.event): c for c in confirmations}
    workdays = config.workdays()
    overdue_by_due: dict[date, int] = {}
    names = {u.id: u.name for u in config.units}
    rows: list[RegisterRow] = []
    for occ in followed_occurrences(config, start, end, event=event, unit=unit):
        coord = coordinator_of(config, occ.event)
        if coordinator is not None and coord != coordinator:
            continue
        due = due_day(occ)
        overdue = overdue_by_due.get(due)
        if overdue is None:
            overdue = overdue_by_due[due] = overdue_working_days(due, today, workdays)
        title, event_id = occ.event.title, occ.event.id
        for uid in responsible_units(config, occ):
            if unit is not None and uid != unit:
                continue
            c = confirmed.get((due, uid, event_id))
            if c is None:
                rows.append(RegisterRow(event_id, title, due, uid, names.get(uid, uid), coord,
                                        None, None, None, overdue))
            else:
                rows.append(RegisterRow(event_id, title, due, uid, names.get(uid, uid), coord,
                                        c.at, c.ref, c.by, 0))
    rows.sort(key=_order)
    return rows


def _order(row: RegisterRow) -> tuple[date, str, str]:
    return row.due, row.unit, row.event


def register_json(rows: Iterable[RegisterRow]) -> list[dict[str, object]]:
    """DESIGN.md's `status --format json` objects."""
    return [{"event": r.event, "due": r.due.isoformat(), "unit": r.unit,
             "confirmed_at": r.confirmed_at.isoformat() if r.confirmed_at else None,
             "ref": r.ref, "by": r.by, "overdue_days": r.overdue_days} for r in rows]


def _all_cells(rows: Iterable[RegisterRow]) -> Iterator[list[str]]:
    days: dict[date, str] = {}
    for row in rows:
        day = days.get(row.due)
        if day is None:
            day = days[row.due] = row.due.isoformat()
        yield [day, row.event, row.title, row.unit, row.unit_name, row.status,
               row.confirmed_at.isoformat(timespec="seconds") if row.confirmed_at else "",
               row.ref or "", BY_LABELS.get(row.by or "", ""), str(row.overdue_days)]


def register_csv(rows: Iterable[RegisterRow], config: Config) -> bytes:
    """UTF-8 with a BOM and CRLF line ends: Excel opens it with Vietnamese intact."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(_all_cells(rows))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def register_xlsx(rows: Iterable[RegisterRow], config: Config, year: int) -> bytes:
    """The same rows as an Excel workbook (openpyxl, write-only mode: flat memory)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=f"Theo dõi báo cáo {year}")
    sheet.append(list(CSV_HEADER))
    for cells in _all_cells(rows):
        sheet.append([*cells[:-1], int(cells[-1])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def summary(rows: Iterable[RegisterRow]) -> dict[str, int]:
    """Counts for a heading: rows, confirmed, overdue."""
    total = confirmed = overdue = 0
    for r in rows:
        total += 1
        confirmed += r.confirmed_at is not None
        overdue += r.overdue_days > 0
    return {"total": total, "confirmed": confirmed, "overdue": overdue}


def status_table(rows: list[RegisterRow]) -> str:
    """`lichnhac status` as a text table."""
    table = [("Hạn", "Sự kiện", "Đơn vị", "Trạng thái", "Số, ký hiệu")]
    for r in rows:
        table.append((vi.short_date(r.due), r.event, r.unit, r.status, r.ref or ""))
    widths = [max(len(t[i]) for t in table) for i in range(4)]
    lines = []
    for index, t in enumerate(table):
        lines.append("  ".join([t[i].ljust(widths[i]) for i in range(4)] + [t[4]]).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 11)
    if not rows:
        lines.append("(không có hạn báo cáo nào cần xác nhận)")
    return "\n".join(lines)

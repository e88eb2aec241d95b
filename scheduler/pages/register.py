"""The coordinator's register page: a year's deadlines, who has confirmed, who is
overdue; filters, a page of rows with confirm-for-a-unit and undo forms, CSV/XLSX links.
Pure over the register rows (`scheduler.followup.register`). Large registers (a national
deployment has ~100,000 rows a year) are shown a page of `PAGE_SIZE` rows at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from scheduler import vi
from scheduler.followup.register import BY_LABELS, RegisterRow
from scheduler.mail.render import template_environment

PAGE_SIZE = 100
FILTERS = {"tat-ca": "Tất cả", "chua-gui": "Chưa gửi", "qua-han": "Quá hạn",
           "da-gui": "Đã gửi"}


@dataclass(frozen=True)
class RegisterQuery:
    """What the coordinator asked to see (from the page's GET form)."""

    year: int
    status: str = "tat-ca"
    search: str = ""
    page: int = 1


def _matches(row: RegisterRow, query: RegisterQuery, needle: str) -> bool:
    if query.status == "chua-gui" and row.confirmed_at is not None:
        return False
    if query.status == "qua-han" and not row.overdue_days:
        return False
    if query.status == "da-gui" and row.confirmed_at is None:
        return False
    return not needle or needle in row.unit_name.casefold() or needle in row.unit


_summary_cache: list[tuple[Sequence[RegisterRow], list[dict[str, Any]]]] = []


def deadline_summary(rows: Sequence[RegisterRow]) -> list[dict[str, Any]]:
    """Per deadline: its day, title, rows, confirmed and overdue counts (the last result
    is kept: the site hands the same cached rows until something changes)."""
    if _summary_cache and _summary_cache[0][0] is rows:
        return _summary_cache[0][1]
    deadlines: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        entry = deadlines.get((row.due.isoformat(), row.event))
        if entry is None:
            entry = deadlines[(row.due.isoformat(), row.event)] = {
                "due": vi.short_date(row.due), "title": row.title, "total": 0,
                "confirmed": 0, "overdue": 0}
        entry["total"] += 1
        entry["confirmed"] += row.confirmed_at is not None
        entry["overdue"] += row.overdue_days > 0
    result = list(deadlines.values())
    _summary_cache[:] = [(rows, result)]
    return result


def render_register(rows: Sequence[RegisterRow], query: RegisterQuery, coordinator: str,
                    base_path: str, token: str, message: str = "") -> bytes:
    """The register page for `rows` (one coordinator, one year)."""
    needle = query.search.casefold().strip()
    if query.status == "tat-ca" and not needle:
        shown: Sequence[RegisterRow] = rows
    else:
        shown = [r for r in rows if _matches(r, query, needle)]
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    window = shown[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]

    def link(**changes: Any) -> str:
        params = {"nam": query.year, "loc": query.status, "q": query.search, "trang": page}
        params.update(changes)
        return base_path + "?" + urlencode({k: v for k, v in params.items() if v})

    context = {
        "coordinator": coordinator, "year": query.year, "query": query,
        "filters": FILTERS, "deadlines": deadline_summary(rows),
        "rows": [{
            "unit": r.unit, "unit_name": r.unit_name, "title": r.title, "event": r.event,
            "due": vi.short_date(r.due), "due_iso": r.due.isoformat(), "status": r.status,
            "confirmed": r.confirmed_at is not None, "overdue": r.overdue_days,
            "at": r.confirmed_at.strftime("%H:%M %d/%m/%Y") if r.confirmed_at else "",
            "ref": r.ref or "", "by": BY_LABELS.get(r.by or "", ""),
        } for r in window],
        "shown": len(shown), "page": page, "pages": pages,
        "prev_url": link(trang=page - 1) if page > 1 else "",
        "next_url": link(trang=page + 1) if page < pages else "",
        "prev_year_url": link(nam=query.year - 1, trang=1),
        "next_year_url": link(nam=query.year + 1, trang=1),
        "csv_url": f"{base_path}/{query.year}.csv", "xlsx_url": f"{base_path}/{query.year}.xlsx",
        "action": link(), "token": token, "message": message,
    }
    env = template_environment(None)
    return env.get_template("register.html.j2").render(context).encode()

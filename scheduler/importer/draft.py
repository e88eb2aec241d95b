"""Writing the draft calendar: TOML with provenance comments, or JSON.

The TOML is what `lichnhac check` and `agenda --calendar` read (DESIGN.md "Calendar
file"): `[[unit]]` tables for every unit an event names (emails empty, for a person to
fill in) and one `[[event]]` per plan item, each under a comment quoting the sentence it
came from with file:line. Same input, same bytes.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from scheduler.importer.extract import Drafted, PlanDraft
from scheduler.importer.units import DraftUnit

_RULE_KEYS = ("date", "start", "end", "month", "rrule")


@dataclass(frozen=True)
class Draft:
    """Everything a set of plans yields, merged: units first, then events."""

    plans: tuple[PlanDraft, ...]
    units: tuple[DraftUnit, ...]
    events: tuple[Drafted, ...]

    @property
    def name(self) -> str:
        """The draft's calendar name: the plan's title, or a count of plans."""
        if len(self.plans) == 1:
            return self.plans[0].identity.title
        return f"Bản nháp từ {len(self.plans)} kế hoạch"


def merge(plans: Sequence[PlanDraft], units: Sequence[DraftUnit]) -> Draft:
    """One draft from several plans: events with the same id merge their units."""
    events: dict[str, Drafted] = {}
    same: dict[tuple[str, str, str], str] = {}  # (title, kind, rule) → id of the first
    for plan in plans:
        for event in plan.events:
            key = (event.title, event.kind, json.dumps(event.rule, sort_keys=True))
            known = event.id if event.id in events else same.get(key)
            if known is not None:
                first = events[known]
                if "all" in first.units or "all" in event.units:
                    first.units = ["all"]
                else:
                    first.units += [u for u in event.units if u not in first.units]
                first.notes.append(f"cũng có trong {event.file}:{event.line}")
                continue
            events[event.id] = event
            same.setdefault(key, event.id)
    return Draft(tuple(plans), tuple(units), tuple(events.values()))


def toml_string(value: str) -> str:
    """A TOML basic string."""
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return toml_string(str(value))


def _comment(prefix: str, text: str) -> list[str]:
    lines = textwrap.wrap(" ".join(text.split()), width=96 - len(prefix),
                          break_long_words=False, break_on_hyphens=False) or [""]
    return [f"# {prefix}{lines[0]}"] + [f"# {' ' * len(prefix)}{line}" for line in lines[1:]]


def to_toml(draft: Draft) -> str:
    """The draft as a calendar file."""
    out = ["# Bản nháp lịch do `lichnhac import` soạn từ kế hoạch; hãy rà soát trước khi dùng:",
           "# ngày, loại, đơn vị và email của từng đơn vị (để trống, cần điền).",
           *(f"# Nguồn: {p.document.name} ({p.identity.basis()})" for p in draft.plans),
           *(f"# Lưu ý: chữ của {p.document.name} được nhận dạng từ ảnh quét (OCR), có thể "
             "sai: rà soát kỹ hơn" for p in draft.plans if p.document.ocr),
           "",
           f"name = {toml_string(draft.name)}",
           f"basis = {toml_string('; '.join(p.identity.basis() for p in draft.plans))}",
           ""]
    for unit in draft.units:
        if unit.matched:
            out.append(f"# Khớp với đơn vị \"{unit.matched}\" trong cấu hình"
                       + (f" (tên trong kế hoạch: {'; '.join(unit.aliases)})" if unit.aliases
                          else ""))
        out.append(f"# Nguồn: {unit.file}:{unit.line}")
        out += ["[[unit]]", f"id = {toml_string(unit.id)}", f"name = {toml_string(unit.name)}",
                "email = []"]
        if unit.aliases:
            out.append(f"aliases = {_value(unit.aliases)}")
        out.append("")
    for event in draft.events:
        page = f" (trang {event.page})" if event.page else ""
        out.append(f"# Nguồn: {event.file}:{event.line}{page}")
        out += _comment("Trích: ", f"“{event.quote}”")
        for note in event.notes:
            out += _comment("Ghi chú: ", note)
        out += ["[[event]]", f"id = {toml_string(event.id)}", f"title = {toml_string(event.title)}",
                f"kind = {toml_string(event.kind)}"]
        out += [f"{key} = {_value(event.rule[key])}" for key in _RULE_KEYS if key in event.rule]
        out.append(f"units = {_value(event.units)}")
        if event.report_to:
            out.append(f"report_to = {toml_string(event.report_to)}")
        out += [f"basis = {toml_string(event.basis)}", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def to_json(draft: Draft) -> str:
    """The draft as one JSON object: plans, units and events with their sources."""
    data = {
        "name": draft.name,
        "plans": [{"file": p.document.name, "title": p.identity.title,
                   "issuer": p.identity.issuer, "basis": p.identity.basis(),
                   "year": p.identity.year, "number": p.identity.number,
                   "date": p.identity.issued.isoformat() if p.identity.issued else None,
                   "ocr": p.document.ocr}
                  for p in draft.plans],
        "units": [{"id": u.id, "name": u.name, "email": [], "aliases": u.aliases,
                   "matched": u.matched, "source": f"{u.file}:{u.line}"} for u in draft.units],
        "events": [{"id": e.id, "title": e.title, "kind": e.kind,
                    **{k: e.rule[k] for k in _RULE_KEYS if k in e.rule},
                    "units": e.units, **({"report_to": e.report_to} if e.report_to else {}),
                    "basis": e.basis,
                    "source": {"file": e.file, "line": e.line, "quote": e.quote,
                               **({"page": e.page} if e.page else {})},
                    "notes": e.notes} for e in draft.events],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

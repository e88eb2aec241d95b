"""Confirmations to replay under `simulate --confirmations FILE.csv`.

The file is CSV (UTF-8, a BOM allowed) with a header naming the columns
`unit,event,due,at,ref` (`ref` optional). `at` is an ISO date-time (its offset, or the
deployment's timezone) or a date (meaning 12:00 that day). Every problem is reported at
once with file:line; a replayed confirmation is recorded as made by the unit.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time
from pathlib import Path

from scheduler.config import Config
from scheduler.errors import ConfigError, Problem, display_path
from scheduler.followup.policy import followed_occurrences, responsible_units
from scheduler.i18n import _
from scheduler.store import Confirmation

COLUMNS = ("unit", "event", "due", "at")
MAX_ROWS = 1_000_000


def read_confirmations(config: Config, path: Path) -> list[Confirmation]:
    """The file's confirmations sorted by time; `ConfigError` listing every bad line."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(shown, 0, _("cannot read confirmations: {problem}")
                                   .format(problem=exc))]) from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError([Problem(shown, 1, _("header must name the columns "
                                               "unit,event,due,at[,ref]; missing: {columns}")
                                   .format(columns=", ".join(missing)))])
    problems: list[Problem] = []
    found: list[Confirmation] = []
    for row in reader:
        line = reader.line_num
        if len(found) + len(problems) >= MAX_ROWS:
            problems.append(Problem(shown, line, _("more than {count} rows").format(
                count=MAX_ROWS)))
            break
        unit, event = (row.get("unit") or "").strip(), (row.get("event") or "").strip()
        try:
            due = date.fromisoformat((row.get("due") or "").strip())
        except ValueError:
            problems.append(Problem(shown, line, _('due "{value}" is not a date: expected '
                                                   "YYYY-MM-DD").format(value=row.get("due"))))
            continue
        at = _moment((row.get("at") or "").strip(), config)
        if at is None:
            problems.append(Problem(shown, line, _('at "{value}" is not a date-time: expected '
                                                   "YYYY-MM-DD or YYYY-MM-DDTHH:MM")
                                    .format(value=row.get("at"))))
            continue
        occ = next((o for o in followed_occurrences(config, due, due, event=event)
                    if o.end == due), None)
        if occ is None:
            problems.append(Problem(shown, line, _('event "{event}" has no occurrence due on '
                                                   "{day} that needs a confirmation")
                                    .format(event=event, day=due.isoformat())))
            continue
        if unit not in responsible_units(config, occ):
            problems.append(Problem(shown, line, _('unit "{unit}" is not responsible for '
                                                   '"{event}" due on {day}')
                                    .format(unit=unit, event=event, day=due.isoformat())))
            continue
        ref = " ".join((row.get("ref") or "").split())[:200] or None
        found.append(Confirmation(unit, event, due, at, "unit", ref, occ.key))
    if problems:
        raise ConfigError(problems)
    found.sort(key=lambda c: c.at)
    return found


def _moment(text: str, config: Config) -> datetime | None:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(12), tzinfo=config.timezone)
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=config.timezone)

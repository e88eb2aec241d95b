"""Recurrence rules that never end (issue 14, item 1): `check` refuses them, and the
expansion is bounded whatever slips through, with an error naming the event."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from scheduler.model import ALL_UNITS, Event, Recurrence, RecurrenceError
from scheduler.occurrences import occurrences
from tests.conftest import Result

# These tests pin the English wording (the Vietnamese one: tests/test_i18n.py).
pytestmark = pytest.mark.usefixtures("english")

CONFIG = """
calendars = ["cal.toml"]
[[unit]]
id = "phong-a"
email = ["a@example.gov.vn"]
"""


def _calendar(rule: str) -> str:
    return f"""
[[event]]
id = "giao-ban"
title = "Giao ban"
kind = "activity"
rrule = "{rule}"
units = ["all"]
"""


@pytest.mark.parametrize("rule, reason", [
    ("FREQ=YEARLY;INTERVAL=0", "INTERVAL=0 must be a whole number 1..1000"),
    ("FREQ=YEARLY;INTERVAL=-1", "INTERVAL=-1 must be a whole number 1..1000"),
    ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL=0 must be a whole number 1..1000"),
    ("FREQ=MONTHLY;COUNT=0", "COUNT=0 must be a whole number"),
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "it never happens"),
    ("FREQ=DAILY;BYHOUR=0,1,2", "BYHOUR is not supported"),
])
def test_check_refuses_a_recurrence_rule_that_cannot_be_expanded(
        write: Callable[[str, str], Path], cli: Callable[..., Result], rule: str,
        reason: str) -> None:
    config = write("config.toml", CONFIG)
    write("cal.toml", _calendar(rule))
    result = cli("--config", str(config), "check", cwd=config.parent, timeout=20)
    assert result.status == 1, result.stderr
    assert f'cal.toml:5: event "giao-ban": rrule "{rule}" is not a valid RRULE ({reason}' \
        in result.stderr
    assert "Traceback" not in result.stderr


def test_agenda_with_a_never_ending_rule_returns_an_error_naming_the_event() -> None:
    # Built directly, as if a rule had slipped past `check`.
    event = Event(id="giao-ban", title="Giao ban", kind="activity",
                  rule=Recurrence("FREQ=YEARLY;INTERVAL=0", date(2000, 1, 1)),
                  units=(ALL_UNITS,), file="cal.toml", line=2)
    with pytest.raises(RecurrenceError, match=r'^cal.toml:2: event "giao-ban": rrule '):
        occurrences([event], date(2026, 1, 1), date(2026, 12, 31), {ALL_UNITS: ("a",)})


def test_a_rule_with_no_occurrence_after_the_window_is_expanded_in_bounded_time() -> None:
    # dateutil alone scans every day up to the year 9999 for this one (about 8 s).
    rule = Recurrence("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", date(2000, 1, 1))
    started = time.monotonic()
    assert list(rule.spans(2025, 2027)) == []
    assert rule.first() is None
    assert time.monotonic() - started < 5  # a hang guard, not a benchmark


def test_translated_expansion_gives_the_same_days_as_plain_dateutil() -> None:
    from datetime import datetime

    from dateutil.rrule import rrulestr
    for text, anchor in (("FREQ=MONTHLY;BYDAY=-1FR", date(2024, 1, 1)),
                         ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", date(2000, 2, 29)),
                         ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH", date(2019, 5, 2)),
                         ("FREQ=DAILY;INTERVAL=7;UNTIL=20260315", date(2026, 1, 1))):
        ours = [s.start for s in Recurrence(text, anchor).spans(2025, 2028)]
        plain = rrulestr(text, dtstart=datetime(anchor.year, anchor.month, anchor.day))  # noqa: DTZ001
        theirs = [m.date() for m in plain.between(datetime(2025, 1, 1),  # noqa: DTZ001
                                                  datetime(2028, 12, 31), inc=True)]  # noqa: DTZ001
        assert ours == theirs, text


def test_a_rule_giving_too_many_days_is_refused_not_expanded_forever() -> None:
    rule = Recurrence("FREQ=DAILY", date(2000, 1, 1))
    with pytest.raises(RecurrenceError, match="more than"):
        list(rule.spans(1, 9999))

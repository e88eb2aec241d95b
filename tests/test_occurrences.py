"""Expanding events into occurrences: rules, windows, units, lunar dates."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.config import load_config
from scheduler.model import (
    DatedSpan,
    Event,
    LunarYearly,
    Recurrence,
    YearlyDate,
    YearlyMonth,
    YearlySpan,
)
from scheduler.occurrences import occurrences
from tests.conftest import SHIPPED_CONFIG

CONFIG = load_config(SHIPPED_CONFIG)
GROUPS = CONFIG.groups()


def event(rule: object, units: tuple[str, ...] = ("all",), event_id: str = "e") -> Event:
    return Event(id=event_id, title="T", kind="activity", rule=rule, units=units)  # type: ignore[arg-type]


def test_span_crossing_a_month_and_overlapping_the_window_start() -> None:
    campaign = event(YearlySpan((11, 15), (12, 15)))
    [occ] = occurrences([campaign], date(2026, 12, 1), date(2026, 12, 31), GROUPS)
    assert (occ.start, occ.end, occ.days, occ.key) == (date(2026, 11, 15), date(2026, 12, 15),
                                                        31, "e/2026")


def test_quarterly_rrule_gives_four_keyed_occurrences() -> None:
    quarterly = event(Recurrence("FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=20", date(2026, 1, 1)))
    found = occurrences([quarterly], date(2026, 1, 1), date(2026, 12, 31), GROUPS)
    assert [o.start for o in found] == [date(2026, m, 20) for m in (3, 6, 9, 12)]
    assert found[0].key == "e/2026-03-20"
    assert occurrences([quarterly], date(2025, 1, 1), date(2025, 12, 31), GROUPS) == []


def test_lunar_hung_kings_day_uses_the_vietnamese_calendar() -> None:
    hung_kings = event(LunarYearly(3, 10))
    found = occurrences([hung_kings], date(2026, 1, 1), date(2027, 12, 31), GROUPS)
    assert [o.start for o in found] == [date(2026, 4, 26), date(2027, 4, 16)]


def test_lunar_new_year_2030_is_2_february_in_vietnam() -> None:
    tet = event(LunarYearly(1, 1))
    [occ] = occurrences([tet], date(2030, 1, 1), date(2030, 12, 31), GROUPS)
    assert occ.start == date(2030, 2, 2)


def test_units_resolve_through_groups_in_config_order() -> None:
    schools = event(YearlyDate(9, 5), units=("schools", "hoi-lhpn"))
    [occ] = occurrences([schools], date(2026, 1, 1), date(2026, 12, 31), GROUPS)
    assert occ.units == ("truong-mam-non", "truong-tieu-hoc", "truong-thcs", "hoi-lhpn")
    assert occurrences([schools], date(2026, 1, 1), date(2026, 12, 31), GROUPS,
                       unit="cong-an-xa") == []


def test_29_february_happens_in_leap_years_only() -> None:
    leap = event(YearlyDate(2, 29))
    found = occurrences([leap], date(2026, 1, 1), date(2029, 12, 31), GROUPS)
    assert [o.start for o in found] == [date(2028, 2, 29)]


rules = st.one_of(
    st.builds(YearlyDate, st.integers(1, 12), st.integers(1, 28)),
    st.builds(lambda m, d, n: YearlySpan((m, d), (m + n, d)), st.integers(1, 10),
              st.integers(1, 28), st.integers(0, 2)),
    st.builds(YearlyMonth, st.integers(1, 12)),
    st.builds(lambda a, n: DatedSpan(a, date.fromordinal(a.toordinal() + n)),
              st.dates(date(2020, 1, 1), date(2035, 1, 1)), st.integers(0, 90)),
    st.builds(Recurrence, st.sampled_from(["FREQ=MONTHLY;BYMONTHDAY=1",
                                           "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=20",
                                           "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"]),
              st.dates(date(2015, 1, 1), date(2030, 1, 1))),
    st.builds(LunarYearly, st.integers(1, 12), st.integers(1, 29)),
)
windows = st.tuples(st.dates(date(2022, 1, 1), date(2034, 12, 31)),
                    st.integers(0, 800)).map(
    lambda t: (t[0], date.fromordinal(t[0].toordinal() + t[1])))


@settings(max_examples=200, deadline=None)
@given(st.lists(rules, min_size=1, max_size=5), windows)
def test_occurrences_lie_in_the_window_ordered_and_deterministic(
        rule_list: list[object], window: tuple[date, date]) -> None:
    events = [event(rule, event_id=f"e{i}") for i, rule in enumerate(rule_list)]
    start, end = window
    found = occurrences(events, start, end, GROUPS)
    for occ in found:
        assert occ.end >= occ.start
        assert occ.start <= end and occ.end >= start
    assert [o.start for o in found] == sorted(o.start for o in found)
    assert len({o.key for o in found}) == len(found)
    assert occurrences(list(reversed(events)), start, end, GROUPS) == found

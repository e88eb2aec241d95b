"""Vietnamese working days: holidays from `holidays`, weekends, and config overrides."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scheduler.config import load_config
from scheduler.workdays import WorkingDays
from tests.conftest import SHIPPED_CONFIG

plain = WorkingDays()


def test_tet_2026_is_five_days_off() -> None:
    tet = [date(2026, 2, d) for d in range(16, 21)]
    assert [plain.is_working_day(d) for d in tet] == [False] * 5
    assert plain.is_working_day(date(2026, 2, 13))  # the Friday before
    assert plain.is_working_day(date(2026, 2, 23))  # the Monday after
    assert plain.previous_working_day(date(2026, 2, 20)) == date(2026, 2, 13)


def test_vietnam_culture_day_2026_is_off_inside_the_action_month() -> None:
    assert not plain.is_working_day(date(2026, 11, 24))
    assert plain.day_off_reason(date(2026, 11, 24)) == "ngày nghỉ lễ (Ngày Văn hóa Việt Nam)"
    assert plain.on_or_before(date(2026, 11, 24)) == date(2026, 11, 23)


def test_report_due_saturday_10_june_2028_falls_back_to_friday() -> None:
    assert date(2028, 6, 10).weekday() == 5
    assert plain.day_off_reason(date(2028, 6, 10)) == "Thứ Bảy"
    assert plain.on_or_before(date(2028, 6, 10)) == date(2028, 6, 9)
    assert plain.on_or_before(date(2028, 12, 10)) == date(2028, 12, 8)  # a Sunday


def test_swapped_saturday_from_holidays_is_a_working_day() -> None:
    assert plain.is_working_day(date(2026, 8, 22))  # worked in exchange for 31/8/2026


def test_config_overrides_the_one_off_swap_of_january_2026() -> None:
    workdays = load_config(SHIPPED_CONFIG).workdays()
    assert not workdays.is_working_day(date(2026, 1, 2))
    assert workdays.day_off_reason(date(2026, 1, 2)) == "ngày nghỉ theo quy định của cơ quan"
    assert workdays.is_working_day(date(2026, 1, 10))
    assert plain.is_working_day(date(2026, 1, 2))  # what the holiday tables alone say


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)))
def test_on_or_before_is_the_latest_working_day_not_after(day: date) -> None:
    found = plain.on_or_before(day)
    assert found <= day
    assert plain.is_working_day(found)
    between = [found + timedelta(days=n) for n in range(1, (day - found).days + 1)]
    assert not any(plain.is_working_day(d) for d in between)

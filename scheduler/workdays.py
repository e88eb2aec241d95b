"""Vietnamese working days: weekends, public holidays (solar and lunar) and config overrides.

The `holidays` package knows Tết, the Hùng Kings' day, the 2026 Culture Day and the
government's swapped Saturdays, but not every one-off swap; deployments add those in
`[workdays]`. Reminders are only ever sent on working days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import holidays

# A reminder planner looks back at most this far for a working day; Tết is the longest
# stretch off (about 9 days with weekends), so this never runs out in practice.
_MAX_LOOKBACK_DAYS = 60


@lru_cache(maxsize=1)
def _vn_holidays() -> Any:
    return holidays.country_holidays("VN", language="vi")


class WorkingDays:
    """Answers "is this a working day" for one deployment's overrides."""

    def __init__(self, days_off: Iterable[date] = (), working_days: Iterable[date] = ()) -> None:
        self.days_off = frozenset(days_off)
        self.working_days = frozenset(working_days)
        self._cache: dict[date, bool] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._cache.get(day)
        if known is None:
            if day in self.working_days:
                known = True
            elif day in self.days_off:
                known = False
            else:
                known = bool(_vn_holidays().is_working_day(day))
            self._cache[day] = known
        return known

    def day_off_reason(self, day: date) -> str | None:
        """Why `day` is not a working day, in Vietnamese (None if it is one)."""
        if self.is_working_day(day):
            return None
        if day in self.days_off:
            return "ngày nghỉ theo quy định của cơ quan"
        name = _vn_holidays().get(day)
        if name:
            return f"ngày nghỉ lễ ({name})"
        return "Thứ Bảy" if day.weekday() == 5 else "Chủ nhật"

    def on_or_before(self, day: date) -> date:
        """`day` itself if it is a working day, else the last working day before it."""
        for back in range(_MAX_LOOKBACK_DAYS + 1):
            candidate = day - timedelta(days=back)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_LOOKBACK_DAYS} days before {day}")

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        return self.on_or_before(day - timedelta(days=1))

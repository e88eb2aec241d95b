"""Vietnamese lunar dates (computed for UTC+7; Chinese-calendar libraries are off by a day
in some years, e.g. Tết 2030)."""

from __future__ import annotations

from datetime import date

import lunar_vn


def lunar_to_solar(year: int, month: int, day: int, leap: bool = False) -> date | None:
    """The solar date of lunar `day/month/year`, or None if that lunar day does not exist."""
    try:
        solar: date = lunar_vn.lunar_to_solar(
            lunar_vn.LunarDate(day, month, year, leap), time_zone=7.0
        )
    except ValueError:
        return None
    # lunar_vn accepts day 30 of a 29-day month and returns the next month's first day;
    # a rule for a day that does not exist that year yields nothing instead.
    back = lunar_vn.solar_to_lunar(solar, time_zone=7.0)
    if (back.day, back.month, back.leap) != (day, month, leap):
        return None
    return solar

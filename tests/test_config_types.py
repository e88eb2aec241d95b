"""Typed values of the wrong type (issue 14, item 2): each is `file:line: what, expected
what`, exit 1 — never an internal error (exit 70)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result

# These tests pin the English wording (the Vietnamese one: tests/test_i18n.py).
pytestmark = pytest.mark.usefixtures("english")

CONFIG = """\
calendars = ["cal.toml"]
[[unit]]
id = "phong-a"
email = ["a@example.gov.vn"]
"""
EVENT = """\
[[event]]
id = "hop"
title = "Họp"
kind = "activity"
units = ["all"]
"""


def _check(write: Callable[[str, str], Path], cli: Callable[..., Result], config: str,
           calendar: str) -> Result:
    path = write("config.toml", config)
    write("cal.toml", calendar)
    return cli("--config", str(path), "check", cwd=path.parent)


@pytest.mark.parametrize("config, calendar, message", [
    (CONFIG, EVENT + "date = 610\n",
     'cal.toml:6: event "hop": date 610 is an integer, expected a string or a date'),
    (CONFIG, EVENT + "start = 5\nend = 7\n",
     'cal.toml:6: event "hop": start 5 is an integer, expected a string or a date'),
    (CONFIG, EVENT + "date = 2026-06-10T08:00:00\n",
     'cal.toml:6: event "hop": date 2026-06-10 08:00:00 is a date-time, expected a string '
     "or a date"),
    (CONFIG + "[workdays]\ndays_off = [20260102]\n", EVENT + 'date = "06-10"\n',
     "config.toml:6: [workdays]: days_off 20260102 is an integer: expected a date, YYYY-MM-DD"),
    (CONFIG + '[reminders]\nsend_time = 8\n', EVENT + 'date = "06-10"\n',
     "config.toml:6: [reminders]: send_time 8 is an integer, expected a string"),
])
def test_a_value_of_the_wrong_type_is_located_not_an_internal_error(
        write: Callable[[str, str], Path], cli: Callable[..., Result], config: str,
        calendar: str, message: str) -> None:
    result = _check(write, cli, config, calendar)
    assert result.status == 1, result.stderr
    assert message in result.stderr.splitlines()
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("line, message", [
    ('[state]\ndir = "st\\u0000ate"\n',
     'config.toml:6: [state]: dir "st\\u0000ate" contains a NUL character: expected a path'),
    ('[mail]\ntemplates = "t\\u0000"\n',
     'config.toml:6: [mail]: templates "t\\u0000" contains a NUL character: expected a path'),
])
def test_a_nul_in_a_path_is_located_not_an_internal_error(
        write: Callable[[str, str], Path], cli: Callable[..., Result], line: str,
        message: str) -> None:
    result = _check(write, cli, CONFIG + line, EVENT + 'date = "06-10"\n')
    assert result.status == 1, result.stderr
    assert message in result.stderr.splitlines()


def test_a_nul_in_a_calendar_name_is_located_not_an_internal_error(
        write: Callable[[str, str], Path], cli: Callable[..., Result]) -> None:
    result = _check(write, cli, CONFIG.replace('"cal.toml"', '"c\\u0000al.toml"'), EVENT)
    assert result.status == 1, result.stderr
    assert ('config.toml:1: config: calendars "c\\u0000al.toml" contains a NUL character: '
            "expected a path") in result.stderr


@pytest.mark.parametrize("value", ["[" * 1000 + "]" * 1000, "{a = " * 600 + "1" + "}" * 600,
                                   "[" * 40 + "]" * 40])
def test_values_nested_a_thousand_deep_are_located_not_a_recursion_error(
        write: Callable[[str, str], Path], cli: Callable[..., Result], value: str) -> None:
    result = _check(write, cli, CONFIG + f"x = {value}\n", EVENT + 'date = "06-10"\n')
    assert result.status == 1, result.stderr
    assert result.stderr.startswith("config.toml:5: values nested too deeply: expected at "
                                    "most 32 levels of arrays and tables\n")


def test_nan_and_inf_are_not_a_timeout_or_a_rate(
        write: Callable[[str, str], Path], cli: Callable[..., Result]) -> None:
    result = _check(write, cli, CONFIG + "[mail.smtp]\ntimeout_seconds = nan\n"
                    "max_per_second = inf\n", EVENT + 'date = "06-10"\n')
    assert result.status == 1
    assert result.stderr.splitlines()[:2] == [
        "config.toml:6: [mail.smtp]: timeout_seconds nan must be a finite number greater "
        "than 0",
        "config.toml:7: [mail.smtp]: max_per_second inf must be a finite number greater "
        "than 0"]


def test_a_timezone_name_too_long_for_a_file_is_located_not_an_internal_error(
        write: Callable[[str, str], Path], cli: Callable[..., Result]) -> None:
    # Found by `make fuzz`: ZoneInfo raised OSError (ENAMETOOLONG).
    result = _check(write, cli, f'timezone = "{"x" * 5000}"\n' + CONFIG,
                    EVENT + 'date = "06-10"\n')
    assert result.status == 1, result.stderr
    assert result.stderr.splitlines()[0].startswith('config.toml:1: timezone "xxx')
    assert "is not a known timezone" in result.stderr

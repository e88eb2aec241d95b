"""Config and calendar validation: every planted mistake gets its own file:line message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.config import load_config
from scheduler.errors import ConfigError
from tests.conftest import FIXTURES, SHIPPED_CONFIG, Result

# These tests pin the English wording (the Vietnamese one: tests/test_i18n.py).
pytestmark = pytest.mark.usefixtures("english")

PLANTED = FIXTURES / "config_with_planted_mistakes.toml"


def test_shipped_config_loads_without_warnings() -> None:
    config = load_config(SHIPPED_CONFIG)
    assert config.warnings == ()
    assert config.coordinator == "phong-van-hoa-xa-hoi"
    assert {"offices", "schools", "mass-organisations", "all"} <= set(config.groups())
    assert len(config.units) >= 10


def test_check_on_shipped_config_prints_summary(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(SHIPPED_CONFIG), "check")
    assert result.status == 0, result.stderr
    assert result.stdout.startswith("ok: 3 files, 11 units (11 with email), 16 events")


def test_every_planted_mistake_is_reported_once(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(PLANTED), "check", cwd=FIXTURES)
    assert result.status == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    expected = [
        'config_with_planted_mistakes.toml:1: timezone "Asia/Hanoi_City" is not a known '
        'timezone: expected an IANA name such as "Asia/Ho_Chi_Minh"',
        'config_with_planted_mistakes.toml:2: calendar "missing.toml": missing.toml: '
        "file not found",
        'config_with_planted_mistakes.toml:3: unknown key "coordinatr" in config, '
        'did you mean "coordinator"?',
        'config_with_planted_mistakes.toml:6: [web]: listen "127.0.0.1:eighty" is not an '
        'address: expected HOST:PORT, e.g. "127.0.0.1:8080"',
        'config_with_planted_mistakes.toml:10: [mail]: transport "pigeon" is not a transport: '
        'expected "outbox" or "smtp"',
        'config_with_planted_mistakes.toml:13: [reminders]: send_time "25:00" is not a time '
        'of day: expected HH:MM, e.g. "08:00"',
        "config_with_planted_mistakes.toml:16: [reminders.lead_days]: deadline [14, 7, 7] "
        "lists the same lead time twice",
        'config_with_planted_mistakes.toml:19: [workdays]: days_off "2026-02-30" is not a '
        "date: expected YYYY-MM-DD",
        'config_with_planted_mistakes.toml:24: unit "phong-van-hoa-xa-hoi": email "abc" '
        "is not an address",
        'config_with_planted_mistakes.toml:27: unit: id "Tram Y Te" is not a valid id: '
        "expected lowercase letters, digits and '-'",
        'config_with_planted_mistakes.toml:31: unit "phong-van-hoa-xa-hoi": duplicate id, '
        "first defined at config_with_planted_mistakes.toml:21",
        'config_with_planted_mistakes.toml:33: unknown key "emial" in [[unit]], '
        'did you mean "email"?',
        'calendar_with_planted_mistakes.toml:5: event "bad-day": date "02-30" is not a day '
        'of the year: expected MM-DD, e.g. "06-10"',
        'calendar_with_planted_mistakes.toml:13: event "backwards": end "11-15" is before '
        'start "12-15"',
        'calendar_with_planted_mistakes.toml:20: event "bad-rule": rrule '
        '"FREQ=QUARTERLY;BYMONTHDAY=20" is not a valid RRULE (FREQ=QUARTERLY is not one of YEARLY, '
        'MONTHLY, WEEKLY, DAILY): '
        'expected e.g. "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=20"',
        'calendar_with_planted_mistakes.toml:28: event "unknown-unit": units "phong-tu-phap" '
        "is not a unit id or group; known: all, phong-van-hoa-xa-hoi",
        'calendar_with_planted_mistakes.toml:31: event "bad-day": duplicate id, first defined '
        "at line 1",
        'calendar_with_planted_mistakes.toml:33: event "bad-day": kind "festival" is not a '
        "kind: expected one of observance, campaign, deadline, activity",
        'calendar_with_planted_mistakes.toml:36: unknown key "titel" in [[event]], '
        'did you mean "title"?',
        "19 errors found",
    ]
    assert lines == expected


def test_toml_syntax_error_names_the_parser_line(write: Callable[[str, str], Path],
                                                 cli: Callable[..., Result]) -> None:
    path = write("broken.toml", """
        timezone = "Asia/Ho_Chi_Minh"
        [web
        listen = "127.0.0.1:8080"
    """)
    result = cli("--config", str(path), "check", cwd=path.parent)
    assert result.status == 1
    assert result.stderr.startswith("broken.toml:2: TOML syntax error: ")
    assert "Traceback" not in result.stderr


def test_unreadable_config_is_one_clear_line(tmp_path: Path, cli: Callable[..., Result]) -> None:
    result = cli("--config", str(tmp_path / "nope.toml"), "check", cwd=tmp_path)
    assert result.status == 1
    assert result.stderr.splitlines()[0].startswith("nope.toml: file not found: ")


def test_binary_config_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b'timezone = "Asia/Ho_Chi_Minh"\n\xff\xfe\x00\x01')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert [p.line for p in caught.value.problems] == [2]
    assert "not valid UTF-8" in str(caught.value)


def test_config_unit_wins_over_calendar_unit(write: Callable[[str, str], Path]) -> None:
    write("draft.toml", """
        [[unit]]
        id = "hoi-lhpn"
        name = "Hội LHPN (từ kế hoạch)"

        [[unit]]
        id = "phong-tu-phap"
        name = "Phòng Tư pháp"

        [[event]]
        id = "hop"
        title = "Họp"
        kind = "activity"
        date = "2026-03-03"
        units = ["hoi-lhpn", "phong-tu-phap"]
    """)
    config_path = write("config.toml", """
        calendars = ["draft.toml"]
        [[unit]]
        id = "hoi-lhpn"
        name = "Hội Liên hiệp Phụ nữ xã"
        email = ["phunu@example.gov.vn"]
    """)
    config = load_config(config_path)
    assert [u.name for u in config.units] == ["Hội Liên hiệp Phụ nữ xã", "Phòng Tư pháp"]
    assert [w.message for w in config.warnings] == [
        'unit "phong-tu-phap" has no email: it gets feeds but no reminders']


def test_later_calendar_overrides_and_disable_drops(write: Callable[[str, str], Path]) -> None:
    write("local.toml", """
        [[event]]
        id = "bao-cao-6-thang"
        title = "Báo cáo 6 tháng (theo kế hoạch xã)"
        kind = "deadline"
        date = "06-05"
        units = ["all"]
    """)
    config_path = write("config.toml", """
        calendars = ["national", "local.toml"]
        disable_events = ["bao-cao-nam"]
        [[unit]]
        id = "phong-a"
    """)
    config = load_config(config_path)
    by_id = {e.id: e for e in config.events}
    assert "bao-cao-nam" not in by_id
    assert by_id["bao-cao-6-thang"].rule.describe() == "06-05"
    assert by_id["bao-cao-6-thang"].file.endswith("local.toml")


def test_disable_of_unknown_event_is_an_error(write: Callable[[str, str], Path]) -> None:
    config_path = write("config.toml", 'disable_events = ["bao-cao-quy"]\n[[unit]]\nid = "a"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config_path)
    [problem] = caught.value.problems
    assert (problem.line, problem.message) == (
        1, 'disable_events: no event "bao-cao-quy" in the calendars')


def test_header_injection_in_sender_is_rejected(write: Callable[[str, str], Path]) -> None:
    config_path = write("config.toml", """
        [mail]
        from = "Lịch nhắc <a@example.gov.vn>\\nBcc: victim@example.com"
    """)
    with pytest.raises(ConfigError) as caught:
        load_config(config_path)
    assert "is not an address" in str(caught.value)


@pytest.mark.parametrize("text", ["", "# config.toml\n# (the rest was lost)\n",
                                  'timezone = "Asia/Ho_Chi_Minh"\n'])
def test_empty_or_comment_only_config_is_refused_as_no_units(
        write: Callable[[str, str], Path], cli: Callable[..., Result], text: str) -> None:
    config_path = write("config.toml", "")
    config_path.write_text(text, encoding="utf-8")
    result = cli("--config", str(config_path), "check", cwd=config_path.parent)
    assert result.status == 1
    assert result.stderr.startswith(
        "config.toml:1: no units: a deployment needs at least one [[unit]] in config.toml or "
        "in a calendar it lists (an empty or truncated config is not a deployment)\n")


def test_config_naming_calendars_but_no_unit_is_only_warned_about(
        write: Callable[[str, str], Path]) -> None:
    config_path = write("config.toml", 'calendars = ["national"]\n')
    config = load_config(config_path)
    assert [(w.line, w.severity) for w in config.warnings] == [(1, "warning")]
    assert config.warnings[0].message.startswith("no units: a deployment needs at least one")

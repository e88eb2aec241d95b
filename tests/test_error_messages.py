"""Error messages that finish the job (issue 11, item 7): a typo in a table header is
reported at the header's line; unknown unit or group ids get a "did you mean"; a list of
known ids says when it is cut; `--config` after the command works; no config file at all
says how to start."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHIPPED_CONFIG, Result

# These tests pin the English wording (the Vietnamese one: tests/test_i18n.py).
pytestmark = pytest.mark.usefixtures("english")


def test_typo_in_a_table_header_is_reported_at_the_header_line_not_line_1(
        tmp_path: Path, cli: Callable[..., Result]) -> None:
    shutil.copytree(ROOT / "calendars", tmp_path / "calendars")
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    line = text.splitlines().index(next(x for x in text.splitlines()
                                        if x.startswith("[reminders.lead_days]"))) + 1
    (tmp_path / "config.toml").write_text(
        text.replace("[reminders.lead_days]", "[reminder.lead_days]"), encoding="utf-8")
    result = cli("--config", "config.toml", "check", cwd=tmp_path)
    assert result.status == 1
    assert result.stderr.splitlines()[0] == (
        f'config.toml:{line}: unknown key "reminder" in config, did you mean "reminders"?')
    assert line > 1


def test_unknown_unit_group_report_to_and_coordinator_get_did_you_mean(
        write: Callable[[str, str], Path], cli: Callable[..., Result]) -> None:
    config = write("config.toml", """
        calendars = ["cal.toml"]
        coordinator = "phong-van-hoa"
        [[unit]]
        id = "phong-van-hoa-xa-hoi"
        groups = ["offices"]
    """)
    write("cal.toml", """
        [[event]]
        id = "bao-cao"
        title = "Báo cáo"
        kind = "deadline"
        date = "06-10"
        units = ["ofices", "phong-van-hoa-xa-hoj"]
        report_to = "phong-van-hoa-xa-hoii"
    """)
    result = cli("--config", str(config), "check", cwd=config.parent)
    assert result.status == 1
    assert result.stderr.splitlines() == [
        'config.toml:2: coordinator "phong-van-hoa" is not a unit id, did you mean '
        '"phong-van-hoa-xa-hoi"?',
        'cal.toml:6: event "bao-cao": units "ofices" is not a unit id or group, did you mean '
        '"offices"?',
        'cal.toml:6: event "bao-cao": units "phong-van-hoa-xa-hoj" is not a unit id or group, '
        'did you mean "phong-van-hoa-xa-hoi"?',
        'cal.toml:7: event "bao-cao": report_to "phong-van-hoa-xa-hoii" is not a unit id, '
        'did you mean "phong-van-hoa-xa-hoi"?',
        "4 errors found",
    ]


def test_list_of_known_unit_ids_says_when_it_is_cut(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(SHIPPED_CONFIG), "plan", "--unit", "khong-co", "--from",
                 "2026-01-01", "--to", "2026-01-31")
    assert result.status == 2
    assert result.stderr.splitlines()[-1] == (
        'lichnhac: error: --unit "khong-co" is not a unit id; known: cong-an-xa, '
        "doan-thanh-nien, hoi-lhpn, mttq, phong-kinh-te, phong-van-hoa-xa-hoi, tram-y-te, "
        "truong-mam-non and 3 more")
    typo = cli("--config", str(SHIPPED_CONFIG), "agenda", "--unit", "tram-yte")
    assert typo.stderr.splitlines()[-1] == (
        'lichnhac: error: --unit "tram-yte" is not a unit id, did you mean "tram-y-te"?')


def test_config_option_after_the_command_works(cli: Callable[..., Result]) -> None:
    before = cli("--config", str(SHIPPED_CONFIG), "check")
    after = cli("check", "--config", str(SHIPPED_CONFIG))
    assert after.status == before.status == 0, after.stderr
    assert after.stdout == before.stdout
    plan = cli("plan", "--config", str(SHIPPED_CONFIG), "--log-level", "warning", "--from",
               "2026-06-01", "--to", "2026-06-30", "--format", "json")
    assert plan.status == 0, plan.stderr


def test_no_config_file_at_all_says_how_to_start(tmp_path: Path,
                                                 cli: Callable[..., Result]) -> None:
    result = cli("check", cwd=tmp_path, env={"LICHNHAC_CONFIG": ""})
    assert result.status == 1
    assert result.stderr.splitlines()[0] == (
        "config.toml: file not found: name the config with --config PATH or "
        "$LICHNHAC_CONFIG (default: ./config.toml); to start, copy the example config.toml "
        "and calendars/ from the lichnhac sources, edit the [[unit]] tables and run "
        "`lichnhac --config config.toml check`")


def test_check_reports_broken_and_non_utf8_email_templates_by_file_and_line(
        tmp_path: Path, cli: Callable[..., Result]) -> None:
    # `check` said "ok" for a deployment whose templates the daemon then refused at start
    # (a reminder template saved in a legacy code page, an escalation with a typo).
    shutil.copytree(ROOT / "calendars", tmp_path / "calendars")
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    (tmp_path / "config.toml").write_text(text.replace("[mail]\n", '[mail]\ntemplates = "mau"\n',
                                                       1), encoding="utf-8")
    (tmp_path / "mau").mkdir()
    (tmp_path / "mau" / "reminder.txt.j2").write_bytes(
        "Kính gửi {{ unit_name }}\n".encode("cp1258", errors="replace"))
    (tmp_path / "mau" / "escalation.txt.j2").write_text("Kính gửi\n{{ unit_name }\n",
                                                        encoding="utf-8")
    result = cli("--config", "config.toml", "check", cwd=tmp_path)
    assert result.status == 1, result.stdout
    lines = result.stderr.splitlines()
    assert "mau/escalation.txt.j2:2: template: unexpected '}'" in lines
    assert any(line.startswith("mau/reminder.txt.j2: template: not UTF-8 (byte ")
               for line in lines), lines
    assert "Traceback" not in result.stderr

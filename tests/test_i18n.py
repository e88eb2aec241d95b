"""One language on the command line (issue 11, item 6): every message goes through the
gettext catalogs, Vietnamese by default and English when the locale asks for it."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable

import pytest

from scheduler import i18n
from scheduler.i18n_catalogs import POT, problems
from tests.conftest import FIXTURES, ROOT, SHIPPED_CONFIG, Result

# The locale variables a user's shell may carry: each test below sets the ones it means.
NO_LOCALE: dict[str, str | None] = {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None,
                                    "LANG": None}


def test_a_catalog_entry_missing_untranslated_fuzzy_or_not_compiled_fails() -> None:
    assert problems() == []
    assert POT.read_text(encoding="utf-8").count("msgid") > 50


def test_the_completeness_check_would_see_an_untranslated_entry(tmp_path, monkeypatch) -> None:
    """The check above can fail: a copy of the catalogs with one vi entry emptied."""
    import shutil

    from scheduler import i18n_catalogs

    shutil.copytree(i18n.LOCALE_DIR, tmp_path / "locale")
    po = tmp_path / "locale" / "vi" / "LC_MESSAGES" / "lichnhac.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgstr "cách dùng: "', 'msgstr ""'), encoding="utf-8")
    monkeypatch.setattr(i18n_catalogs, "LOCALE_DIR", tmp_path / "locale")
    monkeypatch.setattr(i18n_catalogs, "POT", tmp_path / "locale" / "lichnhac.pot")
    found = i18n_catalogs.problems()
    assert "vi: untranslated 'usage: '" in found
    assert "vi: lichnhac.mo is stale: run make compile-messages" in found


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "vi"),
    ({"LANG": "C"}, "vi"),
    ({"LANG": "C.UTF-8"}, "vi"),
    ({"LANG": "vi_VN.UTF-8"}, "vi"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "en_GB"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "vi_VN.UTF-8"}, "vi"),
    ({"LANG": "vi_VN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LANG": "vi_VN.UTF-8", "LANGUAGE": "en:vi"}, "en"),
    ({"LANG": "en_US.UTF-8", "LANGUAGE": ""}, "en"),
])
def test_the_language_follows_the_first_locale_variable_set(
        environ: dict[str, str], expected: str) -> None:
    assert i18n.language(environ) == expected


def test_the_compiled_catalogs_are_package_data_of_the_wheel() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["scheduler"]
    assert "locale/*/LC_MESSAGES/*.mo" in patterns
    for lang in i18n.LANGUAGES:
        assert (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "lichnhac.mo").is_file()


def _check_planted(cli: Callable[..., Result], **env: str) -> Result:
    result = cli("--config", "config_with_planted_mistakes.toml", "check", cwd=FIXTURES,
                 env={**NO_LOCALE, **env})
    assert result.status == 1
    assert "Traceback" not in result.stderr
    return result


def _locations(stderr: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"^[\w.]+\.toml:\d+(?=: )", stderr, re.M)]


def test_check_gives_the_same_file_lines_in_english_and_vietnamese(
        cli: Callable[..., Result]) -> None:
    english = _check_planted(cli, LANG="en_US.UTF-8")
    vietnamese = _check_planted(cli, LANG="vi_VN.UTF-8")
    unset = _check_planted(cli)
    assert len(_locations(english.stderr)) == 19
    assert _locations(english.stderr) == _locations(vietnamese.stderr)
    assert unset.stderr == vietnamese.stderr  # Vietnamese by default
    english_lines = english.stderr.splitlines()
    vietnamese_lines = vietnamese.stderr.splitlines()
    assert english_lines[-1] == "19 errors found"
    assert vietnamese_lines[-1] == "tìm thấy 19 lỗi"
    # Every line is worded differently (translated), located the same.
    for en_line, vi_line in zip(english_lines, vietnamese_lines, strict=True):
        assert en_line != vi_line


def test_argparse_speaks_the_same_language(cli: Callable[..., Result]) -> None:
    vietnamese = cli("agenda", "--from", "hôm-qua", env={**NO_LOCALE, "LANG": "vi_VN.UTF-8"})
    assert vietnamese.status == 2
    assert vietnamese.stderr.startswith("cách dùng: lichnhac agenda")
    assert ("lichnhac agenda: lỗi: tham số --from: 'hôm-qua' không phải ngày: cần YYYY-MM-DD"
            in vietnamese.stderr)
    english = cli("agenda", "--from", "yesterday", env={**NO_LOCALE, "LANG": "en_US.UTF-8"})
    assert english.stderr.startswith("usage: lichnhac agenda")
    assert ("lichnhac agenda: error: argument --from: 'yesterday' is not a date: expected "
            "YYYY-MM-DD" in english.stderr)
    help_vi = cli("check", "--help", env={**NO_LOCALE, "LANG": "vi_VN.UTF-8"})
    assert "tùy chọn:" in help_vi.stdout
    assert "kiểm tra cấu hình và các lịch" not in help_vi.stdout  # the command's own help
    assert "cho phép lần nạp lại tới áp dụng cấu hình này" in help_vi.stdout


def test_agenda_and_plan_speak_the_locale_language(cli: Callable[..., Result]) -> None:
    args = ("--from", "2026-01-02", "--to", "2026-01-02")
    vi_agenda = cli("--config", str(SHIPPED_CONFIG), "agenda", *args, env=NO_LOCALE)
    en_agenda = cli("--config", str(SHIPPED_CONFIG), "agenda", *args,
                    env={**NO_LOCALE, "LANG": "en_US.UTF-8"})
    assert vi_agenda.stdout.splitlines()[0].split() == ["Ngày", "Thứ", "Loại", "Sự", "kiện",
                                                        "Đơn", "vị"]
    assert vi_agenda.stdout.splitlines()[-1] == "(không có sự kiện nào trong khoảng thời gian này)"
    assert en_agenda.stdout.splitlines()[0].split() == ["Date", "Weekday", "Kind", "Event",
                                                        "Units"]
    assert en_agenda.stdout.splitlines()[-1] == "(no events in this window)"
    vi_plan = cli("--config", str(SHIPPED_CONFIG), "plan", *args, env=NO_LOCALE)
    en_plan = cli("--config", str(SHIPPED_CONFIG), "plan", *args,
                  env={**NO_LOCALE, "LANG": "en_GB.UTF-8"})
    assert vi_plan.stdout.splitlines()[-1] == (
        "(không có thư nhắc việc nào trong khoảng thời gian này)")
    assert en_plan.stdout.splitlines()[-1] == "(no reminder emails in this window)"
    assert en_plan.stdout.split()[:5] == ["Send", "day", "Time", "Unit", "Items"]
    bad_unit = cli("--config", str(SHIPPED_CONFIG), "plan", "--unit", "khong-co",
                   env={**NO_LOCALE, "LANG": "en_US.UTF-8"})
    assert bad_unit.status == 2
    assert 'lichnhac: error: --unit "khong-co" is not a unit id' in bad_unit.stderr


def test_the_importer_refuses_in_the_locale_language(tmp_path, cli: Callable[..., Result]) -> None:
    (tmp_path / "trong.txt").write_text("", encoding="utf-8")
    vietnamese = cli("import", "trong.txt", cwd=tmp_path, env=NO_LOCALE)
    english = cli("import", "trong.txt", cwd=tmp_path, env={**NO_LOCALE, "LANG": "en_US.UTF-8"})
    assert (vietnamese.status, english.status) == (1, 1)
    assert vietnamese.stderr == "lichnhac: trong.txt: tệp rỗng\n"
    assert english.stderr == "lichnhac: trong.txt: the file is empty\n"

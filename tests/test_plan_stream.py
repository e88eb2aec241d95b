"""`plan` streams (one send day at a time, units with the same reminders share the work)
and still prints exactly what it printed when it built the whole list first
(tests/plan_reference.py keeps that implementation verbatim)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.config import Config, load_config
from scheduler.reminders import plan_reminders
from tests.conftest import ROOT, SHIPPED_CONFIG, run_cli
from tests.plan_reference import reference_output, reference_plan
from tests.smtp_helpers import write_deployment


def _cli_plan(config: Path, start: date, end: date, fmt: str, *extra: str) -> str:
    done = run_cli("--config", str(config), "plan", "--from", start.isoformat(), "--to",
                   end.isoformat(), "--format", fmt, *extra, timeout=300)
    assert done.status == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_streamed_plan_is_byte_identical_on_the_shipped_config(fmt: str) -> None:
    config = load_config(SHIPPED_CONFIG)
    for start, end in [(date(2026, 1, 1), date(2027, 12, 31)),
                       (date(2026, 6, 1), date(2026, 6, 30))]:
        expected = reference_output(config, start, end, fmt)
        assert expected.count("\n") > 20
        assert _cli_plan(SHIPPED_CONFIG, start, end, fmt) == expected


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_streamed_plan_of_an_empty_window_is_byte_identical(fmt: str) -> None:
    config = load_config(SHIPPED_CONFIG)
    day = date(2026, 6, 13)  # a Saturday: nothing is sent
    expected = reference_output(config, day, day, fmt)
    assert expected in ("[]\n", ) or "không có thư nhắc việc" in expected
    assert _cli_plan(SHIPPED_CONFIG, day, day, fmt) == expected


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province")
    subprocess.run([sys.executable, str(ROOT / "bench" / "dataset.py"), "province", str(out)],
                   check=True, capture_output=True)
    return out / "config.toml"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "json"])
def test_streamed_plan_is_byte_identical_on_a_generated_province(province: Path,
                                                                 fmt: str) -> None:
    config = load_config(province)
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    expected = reference_output(config, start, end, fmt)
    assert expected.count("\n") > 10_000
    assert _cli_plan(province, start, end, fmt) == expected
    unit = "p01-xa0007-pn"
    assert _cli_plan(province, start, end, fmt, "--unit", unit) == reference_output(
        config, start, end, fmt, unit=unit)


def test_plan_reminders_equal_the_unshared_plan_on_a_generated_province(province: Path) -> None:
    config = load_config(province)
    start, end = date(2026, 9, 1), date(2026, 10, 31)
    digests = plan_reminders(config, start, end)
    assert len(digests) > 1000
    assert digests == reference_plan(config, start, end)


def _random_config(tmp_path: Path, events: list[tuple[str, str, str, str]]) -> Config:
    text = "".join(
        f'\n[[event]]\nid = "e{i}"\ntitle = "Việc {i}"\nkind = "{kind}"\ndate = "{when}"\n'
        f'units = {units}\nbasis = "Kế hoạch số 45/KH-UBND"\nlead_days = {leads}\n'
        for i, (when, kind, units, leads) in enumerate(events))
    return load_config(write_deployment(tmp_path, text))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(st.tuples(
    st.dates(date(2026, 1, 1), date(2026, 12, 31)).map(lambda d: d.isoformat()),
    st.sampled_from(["deadline", "observance", "campaign", "activity"]),
    st.sampled_from(['["offices"]', '["tram-y-te"]', '["all"]', '["khong-email"]',
                     '["phong-van-hoa-xa-hoi", "khong-email"]']),
    st.lists(st.integers(0, 20), min_size=1, max_size=3, unique=True).map(str)),
    min_size=1, max_size=6))
def test_units_sharing_reminders_get_the_same_digests_as_before(
        tmp_path: Path, events: list[tuple[str, str, str, str]]) -> None:
    config = _random_config(tmp_path, events)
    start, end = date(2025, 12, 1), date(2026, 12, 31)
    assert plan_reminders(config, start, end) == reference_plan(config, start, end)
    for unit in ("tram-y-te", "khong-email"):
        assert plan_reminders(config, start, end, unit) == reference_plan(config, start, end,
                                                                           unit)
    for fmt in ("table", "json"):
        from scheduler.commands.plan import CoordinatorDigests, json_chunks, table_chunks
        from scheduler.reminders import Planner

        chunks = json_chunks if fmt == "json" else table_chunks
        streamed = chunks(Planner(config, start, end, None),
                          CoordinatorDigests(config, start, end, None))
        assert b"".join(streamed).decode() == reference_output(config, start, end, fmt)

"""Fuzzing the shipped deployment (issue 14, item 2 and "done when"): whatever a typo or a
hostile edit does to config.toml or a calendar, `check`, `agenda` and `plan` end with exit
status 0, 1 or 2, never a traceback or an internal error, each within 10 s; and a value of
the wrong TOML type anywhere is a `file:line: what, expected what` message, exit 1.

The suite runs a bounded, derandomized number of cases; `make fuzz` runs thousands
(`LICHNHAC_FUZZ_EXAMPLES`) with fresh randomness and prints the figures.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.config_fuzz import (
    FILES,
    TOML_LITERALS,
    Mutation,
    deploy,
    mutations,
    run_commands,
    windows,
)

# The checks below read the English wording ("N errors found", "ok: ").
pytestmark = pytest.mark.usefixtures("english")

LONG_RUN = "LICHNHAC_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("LICHNHAC_FUZZ_EXAMPLES", "150"))
LOCATED = re.compile(r"^[^\n]+?:\d+: ")
SUMMARY = re.compile(r"^\d+ errors? found$")
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN,
                         database=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])


def _problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines()
            if line and not SUMMARY.match(line) and not line.startswith("ok: ")]


def test_every_key_given_every_toml_type_is_a_located_message_never_an_internal_error(
        tmp_path: Path) -> None:
    @FUZZ_SETTINGS
    @given(file=st.sampled_from(FILES), line=st.integers(min_value=0, max_value=400),
           literal=st.sampled_from(TOML_LITERALS))
    def check_one(file: str, line: int, literal: str) -> None:
        config = deploy([Mutation(file, "value", line, literal)], tmp_path / "d")
        [run] = [r for r in run_commands(config, ("2026-01-01", "2026-12-31"))
                 if r.command == "check"]
        assert run.status in (0, 1), run.output
        for problem in _problem_lines(run.output):
            assert LOCATED.match(problem) or problem.startswith("warning"), problem
            assert "internal error" not in problem

    check_one()


def test_fuzzed_config_and_calendars_never_crash_hang_or_traceback(tmp_path: Path) -> None:
    statuses: Counter[tuple[str, int]] = Counter()
    slowest = {"check": 0.0, "agenda": 0.0, "plan": 0.0}
    started = time.monotonic()

    @FUZZ_SETTINGS
    @given(changes=mutations(), window=windows())
    def fuzz_one(changes: list[Mutation], window: tuple[str, str]) -> None:
        config = deploy(changes, tmp_path / "d")
        for run in run_commands(config, window):
            statuses[(run.command, run.status)] += 1
            slowest[run.command] = max(slowest[run.command], run.seconds)
            assert run.status in (0, 1, 2), (run.command, run.status, changes, run.output)
            assert "Traceback" not in run.output
            assert "internal error" not in run.output, (changes, run.output)
            assert run.seconds < 10

    fuzz_one()
    cases = sum(n for (command, _), n in statuses.items() if command == "check")
    print(f"\nfuzz: {cases} cases in {time.monotonic() - started:.0f} s; exit statuses "
          f"{dict(sorted(statuses.items()))}; slowest run per command (s) "
          f"{ {k: round(v, 2) for k, v in slowest.items()} }")

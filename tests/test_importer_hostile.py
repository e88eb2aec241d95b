"""Hostile files fail like any bad file: one Vietnamese line naming it, exit 1, quickly.

One file of each hostile kind (tests/importer_hostile.py: huge lines, dense dates, zip
bombs, malformed and looping PDFs, symlink loops ...) goes through the real CLI in a child
process. The 200-file campaign with its time and memory figures is
bench/importer_hostile_bench.py; here a 60 s safety timeout only catches a hang.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importer_hostile import KINDS, generate, run_import


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return dict(generate(folder, kinds=1))


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_file_fails_with_one_line(hostile_files: dict[str, Path], tmp_path: Path,
                                          kind: str) -> None:
    path = hostile_files[kind]
    status, stderr, *_ = run_import(path, tmp_path, timeout=60)
    lines = stderr.strip().splitlines()
    assert status == 1, (kind, status, stderr[-2000:])
    assert len(lines) == 1, stderr[-2000:]
    assert lines[0].startswith(f"lichnhac: {path}"), lines[0]
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert not (tmp_path / "draft.toml").exists()


def test_many_dates_in_one_paragraph_cost_linear_time(tmp_path: Path) -> None:
    """100 KB of "ngày 1/1" lines in one paragraph used to take 46 s (quadratic joining);
    a plan-sized version of it (under the date limit) now drafts, within the safety bound."""
    plan = tmp_path / "dates.txt"
    plan.write_text("Kế hoạch năm 2026\n" + "tổ chức ngày 1/1\n" * 2_900, encoding="utf-8")
    status, stderr, *_ = run_import(plan, tmp_path, timeout=60)
    assert status == 0, stderr[-2000:]
    assert (tmp_path / "draft.toml").exists()

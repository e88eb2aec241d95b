"""An export killed at any moment leaves every served file whole, and all of them from
one generation: the previous one or the new one (never a mix, never a half file)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

NOW = {"LICHNHAC_NOW": "2026-11-22T09:30:00+07:00"}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _command(config: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "scheduler", "--config", str(config), "export", "--out",
            str(out)]


def _export(config: Path, out: Path) -> float:
    started = time.monotonic()
    subprocess.run(_command(config, out), cwd=ROOT, env={**os.environ, **NOW}, check=True,
                   capture_output=True, timeout=300)
    return time.monotonic() - started


@pytest.mark.slow
def test_an_export_killed_at_random_moments_serves_one_whole_generation(
        tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "bench" / "dataset.py"), "province",
                    str(tmp_path)], check=True, capture_output=True)
    old = tmp_path / "config.toml"
    new = tmp_path / "config-new.toml"
    new.write_text(old.read_text(encoding="utf-8").replace(
        '"calendars/bench.toml"', '"calendars/bench-new.toml"'), encoding="utf-8")
    calendars = tmp_path / "calendars"
    (calendars / "bench-new.toml").write_text((calendars / "bench.toml").read_text(
        encoding="utf-8").replace("tối thiểu 02 buổi", "tối thiểu 03 buổi"), encoding="utf-8")
    # Feeds carry SEQUENCE/LAST-MODIFIED from the state dir, which every export updates
    # (a killed one too): each round starts from the same saved state, so "the new
    # generation" is one known tree.
    state, saved = tmp_path / "var", tmp_path / "var-saved"
    site = tmp_path / "site"
    _export(old, site)
    previous = _tree(site)
    shutil.copytree(state, saved)

    def restore() -> None:
        shutil.rmtree(state)
        shutil.copytree(saved, state)

    duration = _export(new, tmp_path / "ref-new")
    following = _tree(tmp_path / "ref-new")
    restore()
    assert len(previous) > 990 and previous != following
    assert previous["index.html"] == following["index.html"]  # the titles are in feeds only
    rng = random.Random(13)
    outcomes = []
    for _ in range(12):
        child = subprocess.Popen(_command(new, site), cwd=ROOT, env={**os.environ, **NOW},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, duration * 1.6))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        served = _tree(site)
        restore()
        if served == following:
            outcomes.append("new")
            _export(old, site)  # back to the old data for the next round
            assert _tree(site) == previous
            restore()
        else:
            assert served == previous, "a served file is neither the previous nor the new one"
            outcomes.append("previous")
    # The next complete export cleans up whatever the killed ones left.
    _export(new, site)
    assert _tree(site) == following
    generations = sorted(p.name for p in (tmp_path / ".site.generations").iterdir())
    assert len(generations) == 3, generations
    assert not list(tmp_path.glob(".site.switch-*"))
    print("outcomes:", outcomes)

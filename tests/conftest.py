"""Shared fixtures: paths, a CLI runner, and config files written from text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg_cluster import PgCluster
from tests.store_backends import BACKENDS, Opener, opener

# Run under a non-Vietnamese timezone (with daylight saving) even when pytest is called
# directly, so a naive datetime that silently uses the machine's zone shows up as a bug.
if os.environ.get("TZ", "") in ("", "Asia/Ho_Chi_Minh", "Asia/Saigon"):
    os.environ["TZ"] = "America/New_York"
    time.tzset()

# The command line speaks the locale's language (scheduler/i18n.py): make the suite's
# default explicit, Vietnamese as for an unset locale, whatever the machine's LANG is.
# LANGUAGE is read first and does not touch LC_CTYPE (the text encoding). Tests that pin
# English wording use the `english` fixture.
for _name in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANGUAGE"] = "vi"

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHIPPED_CONFIG = ROOT / "config.toml"


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None,
            timeout: float = 60) -> Result:
    """Run `python -m scheduler ARGS` in a real subprocess, as a user would (an `env`
    value of None unsets that variable)."""
    merged = {**os.environ, **(env or {})}
    full_env = {name: value for name, value in merged.items() if value is not None}
    full_env.pop("LICHNHAC_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "scheduler", *args], cwd=cwd or ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    return Result(done.returncode, done.stdout, done.stderr)


def stderr_on_a_terminal(command: list[str], cwd: Path, env: dict[str, str],
                         timeout: float) -> bytes:
    """Run `command` with stderr on a pseudo-terminal (as a user at a shell would see it),
    assert it exits 0, and return everything it wrote there."""
    import pty

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                                   stderr=terminal, env=env)
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        assert process.wait(timeout=timeout) == 0
    finally:
        os.close(controller)
    return seen


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One throwaway PostgreSQL cluster for the session (tests/pg_cluster.py), started on
    first use and stopped at the end, also after failures."""
    cluster = PgCluster.start()
    # A SIGTERM (a CI timeout, `kill`) would end pytest without teardown and leave the
    # server running: turn it into an exit that runs the finalizers.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield cluster
    finally:
        signal.signal(signal.SIGTERM, previous)
        cluster.destroy()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh empty PostgreSQL database of the session cluster, for one test."""
    return pg_cluster.database()


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Open the test's store as a node, on each back-end in turn (tests/store_backends.py)."""
    yield from opener(request.param, tmp_path, request)


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages in English (LANGUAGE=en), in this process and in `run_cli`'s."""
    monkeypatch.setenv("LANGUAGE", "en")


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented text to tmp_path/name and return the path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write

"""Mutating the shipped deployment (config.toml and its calendars) for the fuzz tests.

`mutations()` is a hypothesis strategy of edits a careless hand or a hostile file could
make: a value replaced by one of every TOML type, a line deleted, duplicated or cut, a
file truncated, a character replaced, deep nesting, NULs. `run_commands` runs `check`,
`agenda` and `plan` in this process through `scheduler.cli.main` (fast enough for
thousands of cases) with a 10 s alarm each, and returns what each did.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from hypothesis import strategies as st

from scheduler.cli import main

ROOT = Path(__file__).resolve().parent.parent
FILES = ("config.toml", "calendars/xa-hoa-an-2026.toml", "scheduler/data/national.toml")
TIME_LIMIT_SECONDS = 10

# One literal of every TOML type, and a few hostile ones.
TOML_LITERALS = [
    '"text"', '""', '"a\\u0000b"', '"06-10"', '"2026-02-30"', '"FREQ=YEARLY;INTERVAL=0"',
    '"FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"', "610", "0", "-1", "20260102", "3.5", "nan",
    "inf", "true", "false", "2026-01-02", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05",
    "03:04:05", "[]", "[1, 2]", '["a", "b"]', "[20260102]", "[true]", "[[1], [2]]", "{}",
    "{a = 1}", '{id = "x"}', "[{a = 1}]", "[" * 40 + "]" * 40, "{a = " * 40 + "1" + "}" * 40,
    '"' + "x" * 5000 + '"',
]
_VALUE_LINE = re.compile(r"^(\s*[A-Za-z0-9_\"'.-]+\s*=\s*)(.+)$")


@dataclass(frozen=True)
class Mutation:
    """One edit: in file `file`, at line `line`, `kind` with `text`."""

    file: str
    kind: str
    line: int
    text: str

    def apply(self, source: str) -> str:
        lines = source.splitlines()
        if not lines:
            return self.text
        index = self.line % len(lines)
        if self.kind == "value":
            match = _VALUE_LINE.match(lines[index])
            lines[index] = (match.group(1) + self.text) if match else lines[index]
        elif self.kind == "delete":
            del lines[index]
        elif self.kind == "duplicate":
            lines.insert(index, lines[index])
        elif self.kind == "insert":
            lines.insert(index, self.text)
        elif self.kind == "truncate":
            return source[: (self.line * 7919) % (len(source) + 1)]
        elif self.kind == "char":
            text = lines[index]
            if text:
                at = (self.line * 31) % len(text)
                lines[index] = text[:at] + self.text[:1] + text[at + 1:]
        elif self.kind == "swap":
            other = (index + 1) % len(lines)
            lines[index], lines[other] = lines[other], lines[index]
        return "\n".join(lines) + "\n"


def mutation() -> st.SearchStrategy[Mutation]:
    kinds = st.sampled_from(["value", "value", "value", "delete", "duplicate", "insert",
                             "truncate", "char", "swap"])
    texts = st.one_of(st.sampled_from(TOML_LITERALS),
                      st.text(min_size=1, max_size=12),
                      st.sampled_from(["[[event]]", "[[unit]]", "[reminder.lead_days]",
                                       "[mail", 'id = "phong-tu-phap"', "units = [\"khong-co\"]",
                                       "x = " + "[" * 1000 + "]" * 1000]))
    return st.builds(Mutation, st.sampled_from(FILES), kinds,
                     st.integers(min_value=0, max_value=10_000), texts)


def mutations() -> st.SearchStrategy[list[Mutation]]:
    return st.lists(mutation(), min_size=1, max_size=3)


def windows() -> st.SearchStrategy[tuple[str, str]]:
    days = st.sampled_from(["2026-01-01", "2026-06-10", "2025-12-31", "2027-02-28",
                            "0001-01-01", "9999-12-31", "2024-02-29"])
    return st.tuples(days, days)


def deploy(mutations_: list[Mutation], directory: Path) -> Path:
    """Copy the shipped deployment to `directory` with `mutations_` applied; config.toml."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "calendars").mkdir(parents=True)
    texts = {name: (ROOT / name).read_text(encoding="utf-8") for name in FILES}
    for change in mutations_:
        texts[change.file] = change.apply(texts[change.file])
    texts["config.toml"] = texts["config.toml"].replace(
        '"national"', '"national.toml"', 1)
    (directory / "config.toml").write_text(texts["config.toml"], encoding="utf-8")
    (directory / "calendars" / "xa-hoa-an-2026.toml").write_text(
        texts["calendars/xa-hoa-an-2026.toml"], encoding="utf-8")
    (directory / "national.toml").write_text(texts["scheduler/data/national.toml"],
                                             encoding="utf-8")
    return directory / "config.toml"


@dataclass
class Run:
    command: str
    status: int
    seconds: float
    output: str


class _Overtime(Exception):
    pass


@contextlib.contextmanager
def _alarm(seconds: int) -> Iterator[None]:
    def ring(signum: int, frame: FrameType | None) -> None:
        raise _Overtime

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_commands(config: Path, window: tuple[str, str]) -> list[Run]:
    """`check`, `agenda` and `plan` on `config`, each under a 10 s alarm."""
    start, end = window
    runs = []
    for command in (["check"], ["agenda", "--from", start, "--to", end],
                    ["plan", "--from", start, "--to", end, "--format", "json"]):
        out, err = io.StringIO(), io.StringIO()
        began = time.monotonic()
        try:
            with _alarm(TIME_LIMIT_SECONDS), contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(err):
                status = main(["--config", str(config), *command])
        except _Overtime:
            status = -1
        except SystemExit as exc:  # argparse
            status = int(exc.code or 0)
        runs.append(Run(command[0], status, time.monotonic() - began, err.getvalue()))
    return runs

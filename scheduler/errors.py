"""The exception hierarchy and the `Problem` record every validation error becomes.

Messages are built here, in `__init__`, so the wording users see (and tests pin) lives
in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, located to a line when we can."""

    file: str
    line: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        from scheduler.i18n import _

        prefix = _("warning: ") if self.severity == "warning" else ""
        return f"{where}: {prefix}{self.message}"


def display_path(path: Path) -> str:
    """A path as users typed it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class LichnhacError(Exception):
    """Base of every error lichnhac raises on purpose."""


class ConfigError(LichnhacError, ValueError):
    """Config or calendar files are invalid; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(LichnhacError, ValueError):
    """A command-line argument is malformed (exit status 2)."""


class DeliveryError(LichnhacError):
    """A message could not be delivered."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        self.permanent = permanent
        super().__init__(message)


class DeliveryTimeout(DeliveryError, TimeoutError):
    """The mail server did not answer in time (a temporary failure)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


class DocumentError(LichnhacError, ValueError):
    """A plan document given to the importer cannot be read."""

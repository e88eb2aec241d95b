"""Confirming a config change that removes most units, before a reload applies it.

A truncated or half-written config.toml can still be valid TOML with a unit or two left;
reloaded, it would silently drop every other unit's feeds and reminders. So a reload that
would remove more than half of the running units is refused unless the operator said so:

    lichnhac --config /etc/lichnhac/config.toml check --accept-removals
    systemctl reload lichnhac

`check --accept-removals` validates the config and writes `<state dir>/accept-removals`
holding the fingerprint of the new config's unit ids. The next reload whose units match
that fingerprint is applied (and the file is removed); any other reload is judged as usual.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from pathlib import Path

from scheduler.converters import listed

FLAG_NAME = "accept-removals"
LISTED_IDS = 5


def fingerprint(unit_ids: Iterable[str]) -> str:
    """A short digest of a set of unit ids."""
    return hashlib.sha256("\n".join(sorted(set(unit_ids))).encode()).hexdigest()[:32]


def flag_path(state_dir: Path) -> Path:
    return state_dir / FLAG_NAME


def accept(state_dir: Path, unit_ids: Iterable[str]) -> Path:
    """Record that a reload to exactly these units may remove most of the running ones."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = flag_path(state_dir)
    path.write_text(fingerprint(unit_ids) + "\n", encoding="ascii")
    return path


def removes_most(old_ids: Iterable[str], new_ids: Iterable[str]) -> list[str]:
    """The removed ids if more than half of `old_ids` are gone, else an empty list."""
    old, new = set(old_ids), set(new_ids)
    removed = sorted(old - new)
    return removed if len(removed) * 2 > len(old) else []


def confirmed(state_dir: Path, new_ids: Iterable[str]) -> bool:
    """True (and the flag consumed) if `check --accept-removals` accepted these units."""
    path = flag_path(state_dir)
    try:
        wanted = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    if wanted != fingerprint(new_ids):
        return False
    with contextlib.suppress(OSError):
        path.unlink()
    return True


def refusal(removed: list[str], old_count: int, config_path: Path) -> str:
    """The log line of a refused reload (one place for its wording)."""
    return (f"reload refused: it would remove {len(removed)} of {old_count} units "
            f"({listed(removed, LISTED_IDS)}); if that is intended, run "
            f"`lichnhac --config {config_path} check --accept-removals` and reload again")

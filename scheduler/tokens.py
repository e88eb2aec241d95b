"""Private feed tokens: one unguessable path segment per unit, kept in the state dir.

With `[web] private_feeds = true`, a unit's feed lives at
`/feeds/<token>/units/<unit-id>.ics`. Tokens are 144 random bits (24 URL-safe
characters), created on first need and kept in `<state dir>/feed-tokens.json` with every
token ever replaced, so that an old URL answers 410 Gone rather than 404.

Rotating without a command: write unit ids (one per line, or `all`) to
`<state dir>/feed-tokens.rotate`; the next feed build (daemon start or reload, or
`lichnhac export`) gives those units new tokens, moves the old ones to `revoked` and
deletes the request file. A unit removed from the config has its token revoked too.
Never delete feed-tokens.json: every subscriber's URL would change and old ones 404.

The same store, under another file prefix, keeps the coordinators' register tokens
(`register-tokens.json`, see `scheduler.followup`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import LichnhacError
from scheduler.files import write_atomic
from scheduler.i18n import _

log = logging.getLogger(__name__)

TOKENS_FILE = "feed-tokens.json"
ROTATE_FILE = "feed-tokens.rotate"
LOCK_FILE = "feed-tokens.lock"
TOKEN_BYTES = 18  # 144 bits


class TokenStoreError(LichnhacError):
    """The token file cannot be read or written."""


@dataclass(frozen=True)
class FeedTokens:
    """unit id → current token, and every token that was replaced (answers 410)."""

    by_unit: Mapping[str, str]
    revoked: frozenset[str]


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


@contextmanager
def _locked(state_dir: Path, lock_name: str = LOCK_FILE) -> Iterator[None]:
    """One writer at a time (the daemon and an `export` may build at once)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / lock_name, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, {}
    except (OSError, ValueError) as exc:
        # Refuse rather than hand out new tokens: that would silently break every URL.
        raise TokenStoreError(_("cannot read {path}: {problem}").format(path=path, problem=exc)) \
            from None
    if not isinstance(data, dict):
        raise TokenStoreError(_("{path}: expected a JSON object").format(path=path))
    units = {str(k): str(v) for k, v in dict(data.get("units", {})).items()}
    revoked = {str(k): str(v) for k, v in dict(data.get("revoked", {})).items()}
    return units, revoked


def _rotation_requests(path: Path) -> set[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return {line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")}


def sync_tokens(state_dir: Path, unit_ids: Iterable[str], rotate: bool = True,
                prefix: str = "feed-tokens") -> FeedTokens:
    """Give every unit a token; with `rotate`, apply the rotation request file and revoke
    the tokens of units no longer configured. Writes the file only when it changed.
    `prefix` names the store's files (`<prefix>.json`, `.rotate`, `.lock`)."""
    path = state_dir / f"{prefix}.json"
    rotate_file = state_dir / f"{prefix}.rotate"
    wanted = list(unit_ids)
    try:
        with _locked(state_dir, f"{prefix}.lock"):
            units, revoked = _read(path)
            changed = False
            if rotate:
                requests = _rotation_requests(rotate_file)
                targets = set(units) if "all" in requests else requests & set(units)
                keep = set(wanted)
                targets |= set(units) - keep
                for unit_id in sorted(targets):
                    revoked[units.pop(unit_id)] = unit_id
                    changed = True
                    log.info("revoked the %s token of %s", prefix, unit_id)
            for unit_id in wanted:
                if unit_id not in units:
                    units[unit_id] = new_token()
                    changed = True
            if changed:
                data = {"units": dict(sorted(units.items())),
                        "revoked": dict(sorted(revoked.items()))}
                write_atomic(path, json.dumps(data, indent=1).encode())
                os.chmod(path, 0o600)
            if rotate:
                rotate_file.unlink(missing_ok=True)
    except OSError as exc:
        raise TokenStoreError(_("cannot keep private feed tokens in {path}: {problem}")
                              .format(path=state_dir, problem=exc)) from None
    _cache.pop(path, None)
    return FeedTokens(by_unit=units, revoked=frozenset(revoked))


_cache: dict[Path, tuple[tuple[int, int], dict[str, str]]] = {}


def unit_token(state_dir: Path, unit_id: str, unit_ids: Iterable[str],
               prefix: str = "feed-tokens") -> str:
    """The current token of one unit (read from a cached copy of the file; created if new)."""
    path = state_dir / f"{prefix}.json"
    try:
        info = path.stat()
        key = (info.st_mtime_ns, info.st_size)
    except FileNotFoundError:
        key = (0, 0)
    cached = _cache.get(path)
    if cached is None or cached[0] != key:
        units, _ = _read(path)
        _cache[path] = (key, units)
        cached = _cache[path]
    token = cached[1].get(unit_id)
    if token is None:
        token = sync_tokens(state_dir, unit_ids, rotate=False, prefix=prefix).by_unit[unit_id]
    return token

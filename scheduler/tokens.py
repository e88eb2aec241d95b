"""Private feed tokens: one unguessable path segment per unit, kept in the store.

With `[web] private_feeds = true`, a unit's feed lives at
`/feeds/<token>/units/<unit-id>.ics`. Tokens are 144 random bits (24 URL-safe
characters), created on first need and kept in the store's `feed-tokens` document with
every token ever replaced, so that an old URL answers 410 Gone rather than 404. Every node
of a deployment reads the same document, so a unit has one URL whichever node answers.

Rotating without a command: write unit ids (one per line, or `all`) to
`<state dir>/feed-tokens.rotate` on any one node; that node's next feed build (daemon
start or reload, or `lichnhac export`) gives those units new tokens in the store, moves
the old ones to `revoked` and deletes the request file. The other nodes serve the new
tokens (and 410 for the old) from their own next build (reload or the daily rebuild).
A unit removed from the config has its token revoked too.

The same store, under another document name, keeps the coordinators' register tokens
(`register-tokens`, see `scheduler.followup`). An older lichnhac kept them in
`<state dir>/feed-tokens.json` and `register-tokens.json`: the first use imports the file
and renames it `<file>.imported`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import LichnhacError
from scheduler.i18n import _
from scheduler.store import Store
from scheduler.store.documents import update_imported

log = logging.getLogger(__name__)

TOKENS_FILE = "feed-tokens.json"     # an older lichnhac's file, imported on first use
ROTATE_FILE = "feed-tokens.rotate"
DOCUMENT = "feed-tokens"
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


def _parse(data: bytes, where: str) -> tuple[dict[str, str], dict[str, str], str]:
    """units, revoked and the last rotation request applied, from a document or an old
    token file. Refuses (rather than hand out new tokens: that would silently break every
    URL) when it cannot be read."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise TokenStoreError(_("cannot read {path}: {problem}").format(path=where, problem=exc)) \
            from None
    if not isinstance(parsed, dict):
        raise TokenStoreError(_("{path}: expected a JSON object").format(path=where))
    units = {str(k): str(v) for k, v in dict(parsed.get("units", {})).items()}
    revoked = {str(k): str(v) for k, v in dict(parsed.get("revoked", {})).items()}
    return units, revoked, str(parsed.get("applied", ""))


def _dump(units: Mapping[str, str], revoked: Mapping[str, str], applied: str) -> bytes:
    data: dict[str, object] = {"units": dict(sorted(units.items())),
                               "revoked": dict(sorted(revoked.items()))}
    if applied:
        data["applied"] = applied
    return json.dumps(data, separators=(",", ":")).encode()


def _rotation_request(path: Path) -> tuple[set[str], str]:
    """The unit ids a request file names, and its fingerprint (content and modification
    time): two processes of one node that both read it apply it once."""
    try:
        data = path.read_bytes()
        info = path.stat()
    except FileNotFoundError:
        return set(), ""
    fingerprint = hashlib.sha256(
        data + f"\0{info.st_mtime_ns}".encode()).hexdigest()[:32]
    lines = data.decode("utf-8", errors="replace").splitlines()
    return ({line.strip() for line in lines
             if line.strip() and not line.strip().startswith("#")}, fingerprint)


def sync_tokens(store: Store, state_dir: Path | None, unit_ids: Iterable[str],
                rotate: bool = True, prefix: str = "feed-tokens") -> FeedTokens:
    """Give every unit a token; with `rotate`, apply the state dir's rotation request file
    and revoke the tokens of units no longer configured. One transaction of the store's
    `prefix` document, written only when it changed."""
    rotate_file = None if state_dir is None else state_dir / f"{prefix}.rotate"
    wanted = list(unit_ids)
    requests, fingerprint = (_rotation_request(rotate_file)
                             if rotate and rotate_file is not None else (set(), ""))
    revoked_now: list[str] = []

    def change(current: bytes | None) -> bytes | None:
        units, revoked, applied = _parse(current, prefix) if current else ({}, {}, "")
        revoked_now.clear()
        changed = False
        if rotate:
            targets = set(units) - set(wanted)
            if fingerprint and fingerprint != applied:
                targets |= set(units) if "all" in requests else requests & set(units)
                applied = fingerprint
                changed = True
            for unit_id in sorted(targets):
                revoked[units.pop(unit_id)] = unit_id
                revoked_now.append(unit_id)
                changed = True
        for unit_id in wanted:
            if unit_id not in units:
                units[unit_id] = new_token()
                changed = True
        return _dump(units, revoked, applied) if changed else None

    legacy = None if state_dir is None else state_dir / f"{prefix}.json"

    def convert(raw: bytes) -> bytes:
        return _dump(*_parse(raw, str(legacy)))

    stored = update_imported(store, prefix, change, legacy, convert)
    for unit_id in revoked_now:
        log.info("revoked the %s token of %s", prefix, unit_id)
    if rotate_file is not None and fingerprint:
        try:
            rotate_file.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot delete %s (%s): it is applied once all the same",
                        rotate_file, exc)
    units, revoked, _applied = _parse(stored or b"{}", prefix)
    return FeedTokens(by_unit=units, revoked=frozenset(revoked))


_cache: dict[str, tuple[bytes, dict[str, str]]] = {}


def unit_token(store: Store, state_dir: Path | None, unit_id: str, unit_ids: Iterable[str],
               prefix: str = "feed-tokens") -> str:
    """The current token of one unit (created if new); the document is parsed again only
    when its bytes changed."""
    data = store.read_document(prefix)
    cached = _cache.get(prefix)
    if data is not None and (cached is None or cached[0] != data):
        _cache[prefix] = cached = (data, _parse(data, prefix)[0])
    token = cached[1].get(unit_id) if data is not None and cached is not None else None
    if token is None:
        token = sync_tokens(store, state_dir, unit_ids, rotate=False,
                            prefix=prefix).by_unit[unit_id]
    return token

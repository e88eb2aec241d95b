"""Signed confirm-link tokens, and the secret that signs them.

A token names one (unit, occurrence that needs a confirmation) and an expiry day. It is
33 bytes, base64url without padding (44 characters), so a confirm URL stays far below 256
characters whatever the length of the ids:

    version (1) | sha256(unit)[:6] | sha256(event)[:6] | due (2) | expiry (2) | mac (16)

Days are counted from 2000-01-01. The ids appear only as short hashes: the page looks
them up in the config (a collision is harmless, every candidate is tried), and the MAC —
HMAC-SHA256 over the *full* ids, the due day and the expiry, truncated to 128 bits — is
what makes a token valid. Changing any bit, the unit, the occurrence or the expiry makes
the MAC fail; a token past its expiry is refused even with a good MAC.

The secret (32 random bytes) lives in `<state dir>/followup-secret.json`, mode 0600,
created on first need. Rotating: create `<state dir>/followup-secret.rotate` (any
content); the next start, reload or command that reads the secret makes a new one and
keeps the old ones as `retired`, so their links answer 410 ("replaced") instead of 403.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from scheduler.errors import LichnhacError
from scheduler.files import write_atomic

SECRET_FILE = "followup-secret.json"
ROTATE_FILE = "followup-secret.rotate"
LOCK_FILE = "followup-secret.lock"
EPOCH = date(2000, 1, 1)
VERSION = 1
_LAYOUT = struct.Struct(">B6s6sHH")
MAC_BYTES = 16
TOKEN_BYTES = _LAYOUT.size + MAC_BYTES
TOKEN_CHARS = 44


class SecretStoreError(LichnhacError):
    """The follow-up secret cannot be read or written."""


@dataclass(frozen=True)
class Secrets:
    """The signing secret in use and the retired ones (their links answer 410)."""

    current: bytes
    retired: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says: this unit may confirm this occurrence until `expires`."""

    unit: str
    event: str
    due: date
    expires: date


Rejection = Literal["malformed", "forged", "expired", "replaced"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a token: a claim, or why it was refused."""

    claim: LinkClaim | None
    reason: Rejection | None = None


def short_hash(identifier: str) -> bytes:
    """The 6-byte hash an id travels as in a token."""
    return hashlib.sha256(identifier.encode()).digest()[:6]


def _mac(secret: bytes, claim: LinkClaim) -> bytes:
    message = "\0".join(("lichnhac-confirm-v1", claim.unit, claim.event, claim.due.isoformat(),
                         claim.expires.isoformat())).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]


def _days(day: date) -> int:
    return max(0, min(0xFFFF, (day - EPOCH).days))


def sign(secret: bytes, claim: LinkClaim) -> str:
    """The token for `claim` (44 URL-safe characters)."""
    head = _LAYOUT.pack(VERSION, short_hash(claim.unit), short_hash(claim.event),
                        _days(claim.due), _days(claim.expires))
    raw = head + _mac(secret, claim)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def verify(token: str, keys: Secrets, units: Mapping[bytes, Sequence[str]],
           events: Mapping[bytes, Sequence[str]], today: date) -> Verdict:
    """Check `token` against the secrets; `units`/`events` map short hashes to ids.

    Constant-time MAC comparison; bounded work (a token is 44 characters or refused).
    """
    if len(token) != TOKEN_CHARS:
        return Verdict(None, "malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return Verdict(None, "malformed")
    if len(raw) != TOKEN_BYTES or sign_version(raw) != VERSION:
        return Verdict(None, "malformed")
    _, unit_hash, event_hash, due_days, expiry_days = _LAYOUT.unpack(raw[:_LAYOUT.size])
    mac = raw[_LAYOUT.size:]
    due = EPOCH + timedelta(days=due_days)
    expires = EPOCH + timedelta(days=expiry_days)
    for unit in units.get(unit_hash, ()):
        for event in events.get(event_hash, ()):
            claim = LinkClaim(unit, event, due, expires)
            if hmac.compare_digest(_mac(keys.current, claim), mac):
                if today > expires:
                    return Verdict(None, "expired")
                return Verdict(claim)
            for old in keys.retired:
                if hmac.compare_digest(_mac(old, claim), mac):
                    return Verdict(None, "replaced")
    return Verdict(None, "forged")


def sign_version(raw: bytes) -> int:
    return raw[0] if raw else -1


def hash_index(ids: Iterable[str]) -> dict[bytes, list[str]]:
    """Short hash → ids having it (a list: collisions are possible, if unlikely)."""
    index: dict[bytes, list[str]] = {}
    for identifier in ids:
        index.setdefault(short_hash(identifier), []).append(identifier)
    return index


# -- the secret in the state dir (the edge) ------------------------------------------------

_cache: dict[Path, tuple[tuple[int, int], Secrets]] = {}


def _read(path: Path) -> Secrets | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        current = bytes.fromhex(str(data["current"]))
        retired = tuple(bytes.fromhex(str(x)) for x in data.get("retired", []))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # Refuse rather than make a new secret: that would silently break every link.
        raise SecretStoreError(f"cannot read {path}: {exc}") from None
    if len(current) < 16:
        raise SecretStoreError(f"{path}: the secret is too short")
    return Secrets(current, retired)


def load_secrets(state_dir: Path) -> Secrets:
    """The secrets, created on first need; applies a pending rotation request."""
    path = state_dir / SECRET_FILE
    rotate = state_dir / ROTATE_FILE
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except FileNotFoundError:
        stamp = (0, 0)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp and not rotate.exists():
        return cached[1]
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        with open(state_dir / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keys = _read(path)
            if keys is None or rotate.exists():
                retired = (keys.current, *keys.retired) if keys else ()
                keys = Secrets(secrets.token_bytes(32), retired[:8])
                data = {"current": keys.current.hex(), "retired": [k.hex() for k in keys.retired]}
                write_atomic(path, json.dumps(data, indent=1).encode(), mode=0o600)
                os.chmod(path, 0o600)
                rotate.unlink(missing_ok=True)
            info = path.stat()
    except OSError as exc:
        raise SecretStoreError(f"cannot keep the follow-up secret in {state_dir}: {exc}") \
            from None
    _cache[path] = ((info.st_mtime_ns, info.st_size), keys)
    return keys

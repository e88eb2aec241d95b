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

The secret (32 random bytes) lives in the store's `followup-secret` document, created on
first need, so a link signed by one node verifies on every other; it is never logged nor
written to the config (protect the store: the SQLite ledger file is mode 0600). Rotating:
create `<state dir>/followup-secret.rotate` (any content) on any one node; its next start,
reload or command that reads the secret makes a new one and keeps the old ones as
`retired`, so their links answer 410 ("replaced") instead of 403. Every node signs and
checks with the store's current secret, so a rotation counts on all of them at once.
An older lichnhac kept the secret in `<state dir>/followup-secret.json`: the first use
imports it and renames the file `followup-secret.json.imported` (still mode 0600).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import struct
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from scheduler.errors import LichnhacError
from scheduler.store import Store
from scheduler.store.documents import update_imported
from scheduler.store.outage import is_unavailable

SECRET_FILE = "followup-secret.json"     # an older lichnhac's file, imported on first use
ROTATE_FILE = "followup-secret.rotate"
DOCUMENT = "followup-secret"
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


# -- the secret in the store (the edge) ------------------------------------------------------

def _read(data: bytes, where: str) -> Secrets:
    try:
        parsed = json.loads(data.decode("utf-8"))
        current = bytes.fromhex(str(parsed["current"]))
        retired = tuple(bytes.fromhex(str(x)) for x in parsed.get("retired", []))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Refuse rather than make a new secret: that would silently break every link.
        # (The message names the problem, never the content.)
        raise SecretStoreError(f"cannot read {where}: {type(exc).__name__}") from None
    if len(current) < 16:
        raise SecretStoreError(f"{where}: the secret is too short")
    return Secrets(current, retired)


def _dump(keys: Secrets, applied: str = "") -> bytes:
    data: dict[str, object] = {"current": keys.current.hex(),
                               "retired": [k.hex() for k in keys.retired]}
    if applied:
        data["applied"] = applied      # the rotation request last applied (its fingerprint)
    return json.dumps(data).encode()


def _applied(data: bytes) -> str:
    try:
        return str(json.loads(data.decode("utf-8")).get("applied", ""))
    except (ValueError, AttributeError):
        return ""


def _request(path: Path | None) -> str:
    """A rotation request's fingerprint ("" without one): two processes of one node that
    both see the file rotate once."""
    if path is None:
        return ""
    try:
        data = path.read_bytes()
        info = path.stat()
    except FileNotFoundError:
        return ""
    return hashlib.sha256(data + f"\0{info.st_mtime_ns}".encode()).hexdigest()[:32]


_cache: tuple[bytes, Secrets] | None = None
# Emails sign their links with the secret read at most this often per store (a burst
# renders thousands a second; a rotation through another node counts within this time,
# and the confirm page always checks against the store's current secrets).
FRESH_SECONDS = 5.0
_recent: weakref.WeakKeyDictionary[Store, tuple[float, bytes]] = weakref.WeakKeyDictionary()


def load_secrets(store: Store, state_dir: Path | None) -> Secrets:
    """The secrets, created on first need; applies a pending rotation request of
    `state_dir` (the node's own). Read from the store at most every `FRESH_SECONDS`;
    parsed again only when the document's bytes changed."""
    rotate = None if state_dir is None else state_dir / ROTATE_FILE
    request = _request(rotate)
    rotating = bool(request)
    data = None
    if not rotating:
        recent = _recent.get(store)
        if recent is not None and time.monotonic() - recent[0] < FRESH_SECONDS:
            data = recent[1]
        else:
            try:
                data = store.read_document(DOCUMENT)
            except Exception as exc:
                if recent is None or not is_unavailable(exc):
                    raise
                # The store is away: keep signing with the secret last read (a rotation
                # cannot happen meanwhile) and ask again in FRESH_SECONDS, so an outage
                # costs one wait for the store, not one per email.
                data = recent[1]
    if data is None:
        legacy = None if state_dir is None else state_dir / SECRET_FILE

        def change(current: bytes | None) -> bytes | None:
            keys = None if current is None else _read(current, DOCUMENT)
            if keys is not None and (not rotating or _applied(current or b"") == request):
                return None
            retired = (keys.current, *keys.retired) if keys else ()
            return _dump(Secrets(secrets.token_bytes(32), retired[:8]), request)

        def convert(raw: bytes) -> bytes:
            return _dump(_read(raw, str(legacy)))

        data = update_imported(store, DOCUMENT, change, legacy, convert)
        assert data is not None
        if rotate is not None and rotating:
            try:
                rotate.unlink(missing_ok=True)
            except OSError as exc:
                raise SecretStoreError(f"cannot delete {rotate}: {exc}") from None
    _recent[store] = (time.monotonic(), data)
    return _parsed(data)


def _parsed(data: bytes) -> Secrets:
    global _cache
    cached = _cache
    if cached is not None and cached[0] == data:
        return cached[1]
    keys = _read(data, DOCUMENT)
    _cache = (data, keys)
    return keys


def stored_secrets(store: Store) -> Secrets | None:
    """The secrets as the store has them now, read only (None: none made yet): a node
    checks links with them, so a rotation through another node counts at once."""
    data = store.read_document(DOCUMENT)
    return None if data is None else _parsed(data)

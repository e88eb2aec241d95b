"""Confirm-link tokens: only an untouched, unexpired token signed with the current secret
names a (unit, occurrence); every mutation is refused."""

from __future__ import annotations

import base64
import os
import stat
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.followup.signing import (
    ROTATE_FILE,
    SECRET_FILE,
    TOKEN_CHARS,
    LinkClaim,
    Secrets,
    hash_index,
    load_secrets,
    sign,
    verify,
)
from scheduler.store.documents import documents_at

KEYS = Secrets(current=b"k" * 32, retired=(b"o" * 32,))
UNITS = hash_index(["phong-a", "phong-b", "truong-tieu-hoc-hoa-an-" + "x" * 57])
EVENTS = hash_index(["bao-cao-6-thang", "bao-cao-nam"])
CLAIM = LinkClaim("phong-a", "bao-cao-6-thang", date(2026, 6, 19), date(2026, 8, 1))
TODAY = date(2026, 6, 20)


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_signed_token_is_accepted_and_short() -> None:
    token = sign(KEYS.current, CLAIM)
    assert len(token) == TOKEN_CHARS
    assert verify(token, KEYS, UNITS, EVENTS, TODAY).claim == CLAIM


def test_a_confirm_url_stays_below_256_characters_with_the_longest_ids() -> None:
    longest = LinkClaim("a" * 80, "b" * 80, date(2099, 12, 31), date(2100, 3, 1))
    url = "https://nhaclich.thanhhoa.example.gov.vn/xac-nhan/" + sign(KEYS.current, longest)
    assert len(url) <= 256


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=33 * 8 - 1))
def test_no_single_bit_flip_is_accepted(bit: int) -> None:
    raw = bytearray(_raw(sign(KEYS.current, CLAIM)))
    raw[bit // 8] ^= 1 << (bit % 8)
    verdict = verify(_token(bytes(raw)), KEYS, UNITS, EVENTS, TODAY)
    assert verdict.claim is None


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=TOKEN_CHARS - 1), st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=3))
def test_no_truncation_or_extension_is_accepted(keep: int, extra: str) -> None:
    token = sign(KEYS.current, CLAIM)
    assert verify(token[:keep], KEYS, UNITS, EVENTS, TODAY).claim is None
    if extra:
        assert verify(token + extra, KEYS, UNITS, EVENTS, TODAY).claim is None


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["phong-b", "truong-tieu-hoc-hoa-an-" + "x" * 57]),
       st.sampled_from(["bao-cao-6-thang", "bao-cao-nam"]),
       st.integers(min_value=-400, max_value=400))
def test_another_units_or_occurrences_fields_with_this_mac_are_refused(
        unit: str, event: str, shift: int) -> None:
    """Splice another claim's fields in front of this token's MAC: refused."""
    other = LinkClaim(unit, event, CLAIM.due + timedelta(days=shift), CLAIM.expires)
    mac = _raw(sign(KEYS.current, CLAIM))[-16:]
    spliced = _raw(sign(KEYS.current, other))[:-16] + mac
    assert verify(_token(spliced), KEYS, UNITS, EVENTS, TODAY).claim is None
    # The other claim's own token is valid only for the other claim.
    assert verify(sign(KEYS.current, other), KEYS, UNITS, EVENTS, TODAY).claim == other


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=3000))
def test_expired_tokens_are_refused_as_expired(days_late: int) -> None:
    token = sign(KEYS.current, CLAIM)
    verdict = verify(token, KEYS, UNITS, EVENTS, CLAIM.expires + timedelta(days=days_late))
    assert verdict.claim is None and verdict.reason == "expired"
    assert verify(token, KEYS, UNITS, EVENTS, CLAIM.expires).claim == CLAIM


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_a_token_signed_with_another_secret_is_refused(secret: bytes) -> None:
    if secret in (KEYS.current, *KEYS.retired):
        return
    verdict = verify(sign(secret, CLAIM), KEYS, UNITS, EVENTS, TODAY)
    assert verdict.claim is None and verdict.reason == "forged"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_without_error(text: str) -> None:
    assert verify(text, KEYS, UNITS, EVENTS, TODAY).claim is None


def test_a_retired_secrets_token_answers_replaced() -> None:
    verdict = verify(sign(KEYS.retired[0], CLAIM), KEYS, UNITS, EVENTS, TODAY)
    assert verdict.claim is None and verdict.reason == "replaced"


def test_the_secret_is_created_once_private_and_rotates_on_request(tmp_path: Path) -> None:
    store = documents_at(tmp_path)
    first = load_secrets(store, tmp_path)
    path = tmp_path / "ledger.sqlite3"      # the secret's home: the store, never a file
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not (tmp_path / SECRET_FILE).exists()
    assert load_secrets(store, tmp_path) == first
    (tmp_path / ROTATE_FILE).write_text("", encoding="utf-8")
    second = load_secrets(store, tmp_path)
    assert second.current != first.current and second.retired[0] == first.current
    assert not (tmp_path / ROTATE_FILE).exists()
    assert load_secrets(store, tmp_path) == second
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = sign(first.current, CLAIM)
    assert verify(token, second, UNITS, EVENTS, TODAY).reason == "replaced"

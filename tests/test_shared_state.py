"""What nodes must agree on lives in the store: two stores on one ledger file are two
nodes, and they give the same feed bytes, the same SEQUENCE for one change, the same
tokens and the same signing secret. An older deployment's state files are imported once."""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.config import Config, load_config
from scheduler.feeds import FeedSet, build_feedset, calendar_bytes, uid_for
from scheduler.feeds.revisions import EVENTS_DOCUMENT, FEEDS_DOCUMENT
from scheduler.followup import signing
from scheduler.followup.signing import (
    ROTATE_FILE as SECRET_ROTATE_FILE,
)
from scheduler.followup.signing import (
    SECRET_FILE,
    LinkClaim,
    hash_index,
    load_secrets,
    sign,
    stored_secrets,
    verify,
)
from scheduler.occurrences import occurrences
from scheduler.store.sqlite import SqliteStore
from scheduler.tokens import ROTATE_FILE, TOKENS_FILE, TokenStoreError, sync_tokens, unit_token

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 22)
MORNING = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
CLAIM = LinkClaim("tram-y-te", "so-ket-6-thang", date(2026, 12, 1), date(2027, 1, 1))


def _config(tmp_path: Path, private: bool = False) -> Config:
    text = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        'dir = "var"', f'dir = "{tmp_path / "state"}"')
    if private:
        text = text.replace("private_feeds = false", "private_feeds = true", 1)
    for calendar in (ROOT / "calendars").iterdir():
        (tmp_path / "calendars").mkdir(parents=True, exist_ok=True)
        (tmp_path / "calendars" / calendar.name).write_bytes(calendar.read_bytes())
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    return load_config(tmp_path / "config.toml")


def _two_nodes(tmp_path: Path) -> tuple[SqliteStore, SqliteStore]:
    ledger = tmp_path / "state" / "ledger.sqlite3"
    return SqliteStore(ledger), SqliteStore(ledger)


def _same(a: FeedSet, b: FeedSet) -> None:
    assert list(a.feeds) == list(b.feeds)
    for path in a.feeds:
        assert a.feeds[path].body == b.feeds[path].body, path
        assert a.feeds[path].etag == b.feeds[path].etag, path
        assert a.feeds[path].last_modified == b.feeds[path].last_modified, path


def _renamed_event(config: Config) -> Config:
    events = tuple(replace(e, title=e.title + " (đổi địa điểm)") if e.id == "so-ket-6-thang"
                   else e for e in config.events)
    return replace(config, events=events)


def _sequence(feeds: FeedSet, uid: str) -> int:
    body = feeds.feeds["all.ics"].body.decode()
    block = body[body.index(f"UID:{uid}"):]
    match = re.search(r"SEQUENCE:(\d+)", block)
    assert match is not None
    return int(match.group(1))


def test_two_nodes_rebuilding_after_one_change_give_it_one_sequence_and_the_same_bytes(
        tmp_path: Path) -> None:
    config = _config(tmp_path)
    a, b = _two_nodes(tmp_path)
    first_a = build_feedset(config, TODAY, a, now=MORNING)
    # Node B's clock is an hour later: it must still take node A's stamps.
    first_b = build_feedset(config, TODAY, b, now=MORNING + timedelta(hours=1))
    _same(first_a, first_b)
    changed = _renamed_event(config)
    uid = next(uid_for(o) for o in first_a.occurrences if o.event.id == "so-ket-6-thang")
    after_a = build_feedset(changed, TODAY, a, now=MORNING + timedelta(hours=2))
    after_b = build_feedset(changed, TODAY, b, now=MORNING + timedelta(hours=3))
    _same(after_a, after_b)
    assert _sequence(first_a, uid) == 0 and _sequence(after_b, uid) == 1
    assert after_b.feeds["all.ics"].etag != first_b.feeds["all.ics"].etag
    # A third rebuild of the same data by either node changes nothing.
    _same(after_a, build_feedset(changed, TODAY, b, now=MORNING + timedelta(days=1)))


def test_two_nodes_building_at_the_same_moment_agree(tmp_path: Path) -> None:
    config = _config(tmp_path)
    a, b = _two_nodes(tmp_path)
    build_feedset(config, TODAY, a, now=MORNING)
    changed = _renamed_event(config)
    results: dict[str, FeedSet] = {}
    start = threading.Barrier(2)

    def node(name: str, store: SqliteStore, now: datetime) -> None:
        start.wait()
        results[name] = build_feedset(changed, TODAY, store, now=now)

    threads = [threading.Thread(target=node, args=("a", a, MORNING + timedelta(hours=1))),
               threading.Thread(target=node, args=("b", b, MORNING + timedelta(hours=5)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    _same(results["a"], results["b"])
    uid = next(uid_for(o) for o in results["a"].occurrences if o.event.id == "so-ket-6-thang")
    assert _sequence(results["b"], uid) == 1


def test_an_email_attachment_is_stamped_from_the_store_on_another_node(tmp_path: Path) -> None:
    config = _config(tmp_path)
    a, _b = _two_nodes(tmp_path)
    feeds = build_feedset(config, TODAY, a, now=MORNING)
    occs = occurrences(config.events, date(2026, 12, 1), date(2026, 12, 31), config.groups(),
                       unit="tram-y-te")
    data = calendar_bytes(config, occs, "Nhắc việc")     # through documents(config)
    for occ in occs:
        uid = uid_for(occ).encode()
        assert uid in data and uid in feeds.feeds["all.ics"].body
    assert b"DTSTAMP:20261122T020000Z" in data and b"20000101" not in data


def test_a_token_rotated_through_one_node_is_seen_by_the_other(tmp_path: Path) -> None:
    a, b = _two_nodes(tmp_path)
    dir_a, dir_b = tmp_path / "node-a", tmp_path / "node-b"
    dir_a.mkdir()
    dir_b.mkdir()
    units = ["tram-y-te", "mttq"]
    first = sync_tokens(a, dir_a, units)
    assert sync_tokens(b, dir_b, units) == first
    (dir_a / ROTATE_FILE).write_text("mttq\n", encoding="utf-8")
    rotated = sync_tokens(a, dir_a, units)
    assert not (dir_a / ROTATE_FILE).exists()
    assert rotated.by_unit["mttq"] != first.by_unit["mttq"]
    assert rotated.by_unit["tram-y-te"] == first.by_unit["tram-y-te"]
    seen_by_b = sync_tokens(b, dir_b, units)
    assert seen_by_b == rotated and first.by_unit["mttq"] in seen_by_b.revoked
    assert unit_token(b, dir_b, "mttq", units) == rotated.by_unit["mttq"]


def test_a_rotation_request_read_by_two_processes_of_one_node_rotates_once(
        tmp_path: Path) -> None:
    a, b = _two_nodes(tmp_path)
    state = tmp_path / "state"
    units = ["tram-y-te"]
    first = sync_tokens(a, state, units)
    request = state / ROTATE_FILE
    request.write_text("all\n", encoding="utf-8")
    seen = request.stat()
    rotated = sync_tokens(a, state, units)
    assert rotated.by_unit != first.by_unit and not request.exists()
    # Process B had read the same request before A deleted it: B applies nothing more.
    request.write_text("all\n", encoding="utf-8")
    os.utime(request, ns=(seen.st_atime_ns, seen.st_mtime_ns))
    assert sync_tokens(b, state, units) == rotated and not request.exists()
    # A request written later is a new one.
    request.write_text("all\n", encoding="utf-8")
    os.utime(request, ns=(seen.st_atime_ns, seen.st_mtime_ns + 1_000_000_000))
    assert sync_tokens(b, state, units).by_unit != rotated.by_unit


def test_a_link_signed_through_one_node_verifies_on_the_other(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _two_nodes(tmp_path)
    dir_a, dir_b = tmp_path / "node-a", tmp_path / "node-b"
    dir_a.mkdir()
    dir_b.mkdir()
    token = sign(load_secrets(a, dir_a).current, CLAIM)
    units, events = hash_index([CLAIM.unit]), hash_index([CLAIM.event])
    signing_before = load_secrets(b, dir_b)
    assert verify(token, signing_before, units, events, TODAY).claim == CLAIM
    (dir_a / SECRET_ROTATE_FILE).write_text("", encoding="utf-8")
    rotated = load_secrets(a, dir_a)
    # Links are checked against the store as it is now (the confirm page does this) ...
    assert verify(token, stored_secrets(b), units, events, TODAY).reason == "replaced"
    # ... and node B signs with the new secret once its copy is FRESH_SECONDS old.
    assert load_secrets(b, dir_b) == signing_before
    monkeypatch.setattr(signing, "FRESH_SECONDS", 0.0)
    assert load_secrets(b, dir_b) == rotated
    assert not list(dir_a.iterdir()) and not list(dir_b.iterdir())   # no secret in a file


def test_a_confirm_page_checks_links_with_the_secret_rotated_through_another_node(
        tmp_path: Path) -> None:
    a, b = _two_nodes(tmp_path)
    dir_a = tmp_path / "node-a"
    dir_a.mkdir()
    assert stored_secrets(b) is None
    before = load_secrets(a, dir_a)
    (dir_a / SECRET_ROTATE_FILE).write_text("", encoding="utf-8")
    after = load_secrets(a, dir_a)
    # Node B made no request and did not reload: it reads the store as it is now.
    assert stored_secrets(b) == after and after.retired[0] == before.current


def test_the_ledger_file_is_private_from_creation_and_tightened_if_not(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.sqlite3"
    old = os.umask(0o022)
    try:
        store = SqliteStore(path)
        load_secrets(store, tmp_path / "state")
        for name in ("ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"):
            assert stat.S_IMODE(os.stat(path.with_name(name)).st_mode) == 0o600, name
        store.close()
        os.chmod(path, 0o644)
        SqliteStore(path).close()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old)


# -- upgrading a deployment made by the previous release --------------------------------------

def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _legacy_revisions(store: SqliteStore, bump: int) -> bytes:
    """feed-revisions.json as the previous release wrote it (json.dumps(indent=0), ISO
    times, one object per entry), from a store's documents, SEQUENCE raised by `bump`."""
    events = json.loads(store.read_document(EVENTS_DOCUMENT) or b"")["events"]
    feeds = json.loads(store.read_document(FEEDS_DOCUMENT) or b"")["feeds"]
    data = {"version": 1,
            "events": {uid: {"revision": e[0], "sequence": e[1] + bump, "created": _iso(e[2]),
                             "modified": _iso(e[3])} for uid, e in sorted(events.items())},
            "feeds": {path: {"revision": f[0], "modified": _iso(f[1])}
                      for path, f in sorted(feeds.items())}}
    return json.dumps(data, ensure_ascii=False, indent=0).encode()


def test_an_old_revisions_file_is_imported_once_keeping_sequence_and_stamps(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    old_config = _config(tmp_path / "old")
    old = build_feedset(old_config, TODAY, tmp_path / "old" / "state", now=MORNING)
    legacy = _legacy_revisions(SqliteStore(tmp_path / "old" / "state" / "ledger.sqlite3"), 4)
    config = _config(tmp_path / "new")
    state = config.state_dir
    state.mkdir(parents=True)
    (state / "feed-revisions.json").write_bytes(legacy)
    upgraded = build_feedset(config, TODAY, SqliteStore(state / "ledger.sqlite3"),
                             now=MORNING + timedelta(days=3))
    assert not (state / "feed-revisions.json").exists()
    assert (state / "feed-revisions.json.imported").read_bytes() == legacy
    assert caplog.text.count("imported") == 2      # one line per document, once
    for path in old.feeds:
        assert old.feeds[path].last_modified == upgraded.feeds[path].last_modified, path
        assert (old.feeds[path].body.replace(b"SEQUENCE:0", b"SEQUENCE:4")
                == upgraded.feeds[path].body), path
    caplog.clear()
    again = build_feedset(config, TODAY, SqliteStore(state / "ledger.sqlite3"),
                          now=MORNING + timedelta(days=4))
    assert "imported" not in caplog.text
    assert again.feeds["all.ics"].body == upgraded.feeds["all.ics"].body


def test_old_token_files_are_imported_so_subscribers_urls_keep_working(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    # The previous release's format: json.dumps(indent=1), mode 0600.
    feed_tokens = {"units": {"mttq": "M" * 24, "tram-y-te": "T" * 24},
                   "revoked": {"R" * 24: "mttq"}}
    register = {"units": {"phong-vhxh": "V" * 24}, "revoked": {}}
    (state / TOKENS_FILE).write_text(json.dumps(feed_tokens, indent=1), encoding="utf-8")
    (state / "register-tokens.json").write_text(json.dumps(register, indent=1),
                                                encoding="utf-8")
    config = _config(tmp_path, private=True)
    feeds = build_feedset(config, TODAY, SqliteStore(state / "ledger.sqlite3"), now=MORNING)
    assert feeds.unit_path("tram-y-te") == "T" * 24 + "/units/tram-y-te.ics"
    assert feeds.is_revoked("R" * 24 + "/units/mttq.ics")
    assert (state / "feed-tokens.json.imported").exists()
    assert not (state / TOKENS_FILE).exists()
    from scheduler.followup.links import register_token

    assert register_token(config, "phong-vhxh") == "V" * 24
    assert (state / "register-tokens.json.imported").exists()


def test_an_unreadable_old_token_file_is_refused_not_replaced(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / TOKENS_FILE).write_text("{not json", encoding="utf-8")
    store = SqliteStore(state / "ledger.sqlite3")
    with pytest.raises(TokenStoreError, match=r"feed-tokens\.json"):
        sync_tokens(store, state, ["mttq"])
    assert store.read_document("feed-tokens") is None
    assert (state / TOKENS_FILE).read_text(encoding="utf-8") == "{not json"


def test_an_old_secret_file_is_imported_so_sent_confirm_links_keep_working(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    current, retired = b"c" * 32, b"r" * 32
    path = state / SECRET_FILE
    path.write_text(json.dumps({"current": current.hex(), "retired": [retired.hex()]},
                               indent=1), encoding="utf-8")
    os.chmod(path, 0o600)
    sent_link = sign(current, CLAIM)
    store = SqliteStore(state / "ledger.sqlite3")
    keys = load_secrets(store, state)
    assert keys.current == current and keys.retired == (retired,)
    units, events = hash_index([CLAIM.unit]), hash_index([CLAIM.event])
    assert verify(sent_link, keys, units, events, TODAY).claim == CLAIM
    assert verify(sign(retired, CLAIM), keys, units, events, TODAY).reason == "replaced"
    imported = state / (SECRET_FILE + ".imported")
    assert not path.exists() and stat.S_IMODE(imported.stat().st_mode) == 0o600
    # Another node on the same store, without the old file, has the same secret.
    assert load_secrets(SqliteStore(state / "ledger.sqlite3"), tmp_path / "other") == keys

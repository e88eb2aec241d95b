"""Several nodes on one store, for real: concurrent claims from threads never share a group,
documents count every writer exactly once, and a PostgreSQL restart raises StoreUnavailable
(naming host:port, never the password) and then the next call works again."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.followup import signing
from scheduler.store import Outcome, PlannedRow, Store, StoreUnavailable
from scheduler.store.postgresql import PostgresqlStore
from tests.pg_cluster import PgCluster
from tests.store_backends import Opener

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 10, 20, 8, 0, tzinfo=HCM)
UNITS = 600


def _burst() -> list[PlannedRow]:
    return [PlannedRow(key=f"don-vi-{n:04d}/ngay-{e}/2026/0",
                       digest_key=f"2026-10-20/don-vi-{n:04d}",
                       unit=f"don-vi-{n:04d}", send_at=AT, event_end=date(2026, 10, 20))
            for n in range(UNITS) for e in ("a", "b", "c")]


def _drain(store: Store, got: list[tuple[str, tuple[str, ...]]],
           start: threading.Barrier) -> None:
    start.wait()
    done: list[Outcome] = []
    while True:
        claims = store.claim_due(AT, 7, done=done)
        if not claims:
            return
        got.extend((c.digest_key, c.reminder_keys) for c in claims)
        done = [Outcome(c, "sent", AT) for c in claims]


def test_nodes_claiming_at_once_never_share_a_group_and_miss_none(stores: Opener) -> None:
    nodes = [stores(f"node-{n}") for n in range(3)]
    nodes[0].add(_burst())
    got: list[list[tuple[str, tuple[str, ...]]]] = [[] for _ in nodes]
    start = threading.Barrier(len(nodes))
    threads = [threading.Thread(target=_drain, args=(node, mine, start))
               for node, mine in zip(nodes, got, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    claimed = Counter(digest for mine in got for digest, _keys in mine)
    assert len(claimed) == UNITS and set(claimed.values()) == {1}
    assert all(len(keys) == 3 for mine in got for _digest, keys in mine)  # whole digests
    assert nodes[0].counts()["sent"] == UNITS * 3


def test_a_document_counts_every_writer_of_every_node_exactly_once(stores: Opener) -> None:
    nodes = [stores(name) for name in "abcd"]   # one store (one connection) per thread
    rounds = 60

    def bump(store: Store) -> None:
        for _ in range(rounds):
            store.update_document("counter", lambda old: str(int(old or b"0") + 1).encode())

    threads = [threading.Thread(target=bump, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert nodes[0].read_document("counter") == str(4 * rounds).encode()


def test_a_confirmation_on_one_node_changes_the_version_every_node_sees(stores: Opener) -> None:
    from scheduler.store import Confirmation

    a, b = stores("a"), stores("b")
    before = b.confirmations_version()
    assert a.confirm(Confirmation("u1", "ev", date(2026, 3, 8), AT, "unit", "CV 1"))
    after = b.confirmations_version()
    assert after != before
    assert not a.confirm(Confirmation("u1", "ev", date(2026, 3, 8), AT + timedelta(hours=1),
                                      "unit"))
    assert b.confirmations(date(2026, 3, 1), date(2026, 3, 31))[0].ref == "CV 1"
    assert b.unconfirm("u1", "ev", date(2026, 3, 8), AT, "operator")
    assert b.confirmations_version() not in (before, after)
    assert a.confirmation_count() == 0


@pytest.mark.postgresql
def test_a_database_restart_raises_unavailable_then_the_next_call_works(
        pg_cluster: PgCluster, pg_url: str) -> None:
    url = pg_url.replace("postgres@", "postgres:s3cret-word@")
    with PostgresqlStore(url, owner="setup", check_schema=False) as setup:
        setup.upgrade()
    with PostgresqlStore(url, owner="node") as store:
        store.add(_burst()[:3])
        assert store.counts()["planned"] == 3
        pg_cluster.stop("immediate")
        try:
            with pytest.raises(StoreUnavailable) as caught:
                store.claim_due(AT, 10)
            message = str(caught.value)
            assert f"127.0.0.1:{pg_cluster.port}" in message
            assert "s3cret" not in message
            with pytest.raises(StoreUnavailable):
                store.counts()
        finally:
            pg_cluster.start_again()
        (claim,) = store.claim_due(AT, 10)     # the failed claim changed nothing
        store.record([Outcome(claim, "sent", AT)])
        assert store.counts()["sent"] == 3


@pytest.mark.postgresql
def test_emails_keep_signing_with_the_last_secret_while_the_database_is_away(
        pg_cluster: PgCluster, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every email of a burst read the secret from the store: during an outage each one
    # waited out the pool timeout (blocking the event loop) and then failed outright.
    with PostgresqlStore(pg_url, owner="setup", check_schema=False) as setup:
        setup.upgrade()
    monkeypatch.setattr(signing, "FRESH_SECONDS", 0.0)   # ask the store on every call
    with PostgresqlStore(pg_url, owner="node") as store, \
            PostgresqlStore(pg_url, owner="new-node") as fresh:
        secret = signing.load_secrets(store, None)
        pg_cluster.stop("fast")
        try:
            assert signing.load_secrets(store, None) == secret
            assert signing.load_secrets(store, None) == secret
            with pytest.raises(StoreUnavailable):   # nothing known yet: no secret to use
                signing.load_secrets(fresh, None)
        finally:
            pg_cluster.start_again()
        assert signing.load_secrets(fresh, None) == secret

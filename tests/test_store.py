"""The store, on both back-ends: the ledger's state machine, durability, documents."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.store import Outcome, PlannedRow, message_token
from scheduler.store.sqlite import SqliteStore
from tests.store_backends import Opener

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 6, 10, 8, 0, tzinfo=HCM)


def _rows(unit: str = "tram-y-te", day: date = date(2026, 6, 10)) -> list[PlannedRow]:
    send_at = datetime(day.year, day.month, day.day, 8, 0, tzinfo=HCM)
    return [PlannedRow(key=f"{unit}/{event}/2026/7", digest_key=f"{day}/{unit}", unit=unit,
                       send_at=send_at, event_end=date(2026, 6, 17)) for event in ("a", "b")]


def test_ledger_is_wal_and_fully_synchronous(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "l.sqlite3") as ledger:
        assert isinstance(ledger, SqliteStore)
        assert ledger.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ledger.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_rows_are_planned_once_and_claimed_as_a_whole_digest(stores: Opener) -> None:
    with stores() as ledger:
        assert ledger.add(_rows()) == 2
        assert ledger.add(_rows()) == 0
        assert ledger.claim_due(AT - timedelta(seconds=1), 10) == []
        (claim,) = ledger.claim_due(AT, 10)
        assert claim.reminder_keys == ("tram-y-te/a/2026/7", "tram-y-te/b/2026/7")
        assert claim.token == message_token("2026-06-10/tram-y-te", claim.reminder_keys)
        assert ledger.claim_due(AT, 10) == []  # sending: nobody claims it twice
        assert ledger.counts()["sending"] == 2
        ledger.record([Outcome(claim, "sent", AT)])
        assert ledger.counts()["sent"] == 2
        assert ledger.claim_due(AT + timedelta(days=1), 10) == []  # never resend sent
        assert ledger.add(_rows()) == 0


def test_a_crash_mid_send_resends_with_the_same_token(stores: Opener) -> None:
    ledger = stores()
    ledger.add(_rows())
    (claim,) = ledger.claim_due(AT, 10)
    ledger.close()  # the process dies: no record
    with stores() as reopened:
        assert reopened.counts()["sending"] == 2    # opening alone changes nothing
        assert reopened.recover_interrupted() == 2  # the daemon's start: this node's rows
        (again,) = reopened.claim_due(AT, 10)
        assert again.token == claim.token
        assert again.reminder_keys == claim.reminder_keys


def test_retry_waits_and_keeps_its_token_missed_and_failed_stay(stores: Opener) -> None:
    with stores() as ledger:
        ledger.add(_rows())
        ledger.add(_rows(unit="cong-an"))
        claims = ledger.claim_due(AT, 10)
        assert len(claims) == 2
        retry_at = AT + timedelta(minutes=1)
        ledger.record([Outcome(claims[0], "retry", AT, "451 later", retry_at),
                       Outcome(claims[1], "failed", AT, "550 no")])
        assert ledger.next_attempt_after(AT) == retry_at
        assert ledger.claim_due(AT + timedelta(seconds=59), 10) == []
        (again,) = ledger.claim_due(retry_at, 10)
        assert again.token == claims[0].token and again.attempts == 1
        ledger.record([Outcome(again, "retry", retry_at, "451", retry_at)])
        assert ledger.mark_missed(send_day_before=date(2026, 6, 11), today=date(2026, 6, 14)) \
            == [claims[0].digest_key]
        assert ledger.counts() == {"planned": 0, "sending": 0, "sent": 0, "failed": 2,
                                   "missed": 2}
        assert ledger.errors("failed")[0][1] == "550 no"
        failed_key = claims[1].reminder_keys[0]
        assert ledger.states([failed_key, "nope"]) == {failed_key: "failed"}


def test_event_over_is_missed_even_inside_the_grace_window(stores: Opener) -> None:
    with stores() as ledger:
        ledger.add(_rows())
        assert ledger.mark_missed(send_day_before=date(2026, 6, 1), today=date(2026, 6, 18)) \
            == ["2026-06-10/tram-y-te"]
        assert {e for _, e in ledger.errors("missed")} == {"event over"}


def test_planned_through_and_last_delivery_persist(stores: Opener) -> None:
    with stores() as ledger:
        assert ledger.planned_through() is None and ledger.last_delivery() is None
        ledger.set_planned_through(date(2026, 6, 10))
        ledger.set_planned_through(date(2026, 6, 9))   # a slower node: the mark stays
        ledger.set_last_delivery(AT)
    with stores() as ledger:
        assert ledger.planned_through() == date(2026, 6, 10)
        assert ledger.last_delivery() == AT


def test_a_document_changes_under_one_writer_and_none_means_leave_it(stores: Opener) -> None:
    with stores("a") as first, stores("b") as second:
        assert first.read_document("revisions") is None
        assert first.update_document("revisions", lambda old: b"1") == b"1"
        # Another connection (another process, another node) sees the committed value.
        assert second.update_document("revisions", lambda old: (old or b"") + b"2") == b"12"
        assert first.read_document("revisions") == b"12"
        assert first.update_document("revisions", lambda old: None) == b"12"


def test_a_failing_change_leaves_the_document_as_it_was(stores: Opener) -> None:
    def broken(old: bytes | None) -> bytes:
        raise ValueError("bad data")

    with stores() as store:
        store.update_document("tokens", lambda old: b"kept")
        with pytest.raises(ValueError, match="bad data"):
            store.update_document("tokens", broken)
        assert store.read_document("tokens") == b"kept"
        assert store.update_document("tokens", lambda old: b"next") == b"next"


def test_claims_on_a_worker_thread_and_questions_on_another_do_not_mix(
        stores: Opener) -> None:
    """The delivery loop claims and records on a worker thread while the event loop's
    thread reads counts and takes confirmations: each call is its own transaction."""
    import threading

    from scheduler.store import Confirmation

    units = [f"unit-{n}" for n in range(40)]
    with stores() as ledger:
        for unit in units:
            ledger.add(_rows(unit=unit))
        errors: list[BaseException] = []
        sent = 0

        def deliver() -> None:
            nonlocal sent
            try:
                done: list[Outcome] = []
                while True:
                    claims = ledger.claim_due(AT + timedelta(days=60), 3, done=done)
                    done = [Outcome(claim, "sent", AT) for claim in claims]
                    sent += len(claims)
                    if not claims:
                        return
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=deliver)
        worker.start()
        confirmed = 0
        while worker.is_alive() or confirmed < 5:
            ledger.counts()
            confirmed += ledger.confirm(Confirmation(
                unit=f"unit-{confirmed}", event="bao-cao", due=date(2026, 6, 17),
                at=AT, by="unit"))
        worker.join()
        assert errors == []
        assert sent == len(units)
        assert ledger.counts()["sent"] == 2 * len(units)
        assert ledger.confirmation_count() == confirmed


def test_planning_a_national_day_refreshes_the_planner_statistics(pg_url: str) -> None:
    """Without fresh statistics PostgreSQL sorted every due row for each claim of a
    national burst (the table looked empty to it): `add` analyzes after a large plan."""
    import psycopg

    from scheduler.store.postgresql import ANALYZE_AFTER, PostgresqlStore

    def reltuples() -> float:
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'reminder'"
                               ).fetchone()
            assert row is not None
            return float(row[0])

    with PostgresqlStore(pg_url, owner="t", check_schema=False) as store:
        store.upgrade()
        store.add(_rows())
        assert reltuples() <= 0           # a few rows: never analyzed (-1 or 0)
        units = [f"unit-{n}" for n in range(ANALYZE_AFTER // 2)]
        store.add([row for unit in units for row in _rows(unit=unit)])
    assert reltuples() == 2 + 2 * len(units)

"""A store that stops answering (here: an SQLite file locked by another process past the
busy timeout) pauses delivery and confirmations without losing or doubling anything:
results already sent are kept and recorded once it answers, and the confirm POST answers
503 with Retry-After, never a 200 for a change that was not committed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from followup_helpers import DUE, EVENT, write_followup_deployment
from nodes_helpers import BURST_AT, tally, write_burst_deployment
from smtp_helpers import FaultyHandler, SmtpServer

from scheduler.clock import FixedClock
from scheduler.config import load_config
from scheduler.delivery import Delivery
from scheduler.followup.links import confirm_claim
from scheduler.followup.signing import load_secrets, sign
from scheduler.followup.site import FollowupSite
from scheduler.mail import open_transport
from scheduler.store import open_store
from scheduler.store.outage import StoreHealth, is_unavailable, retry_delay
from scheduler.web import WebState, create_app, start_server


class Locker:
    """Another process's write lock on the ledger, taken and released on demand."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.held = threading.Event()

    def lock(self) -> None:
        if not self.held.is_set():
            self.db.execute("BEGIN IMMEDIATE")
            self.held.set()

    def release(self) -> None:
        if self.held.is_set():
            self.db.execute("ROLLBACK")
            self.held.clear()

    def close(self) -> None:
        self.release()
        self.db.close()


def test_a_locked_ledger_is_an_outage_but_a_missing_table_is_a_bug(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    locker = Locker(path)
    locker.lock()
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as missing:
        other.execute("SELECT * FROM no_such_table")
    locker.close()
    other.close()
    assert is_unavailable(locked.value)
    assert not is_unavailable(missing.value)
    assert is_unavailable(ConnectionRefusedError("connection refused"))
    assert not is_unavailable(ValueError("bad value"))


def test_the_retry_wait_doubles_from_one_second_to_thirty() -> None:
    assert [retry_delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    health = StoreHealth()
    assert health.failed(sqlite3.OperationalError("database is locked"), BURST_AT, "x") == 1
    assert health.as_json()["store"] == "unavailable"
    health.answered(BURST_AT + timedelta(seconds=5))
    assert health.as_json() == {"store": "ok", "store_since": "2026-06-09T08:00:05+07:00"}


class LockOnFirstMessage(FaultyHandler):
    """Accepts every message; the first one also makes `locker` lock the ledger, so the
    delivery that sent it cannot record it."""

    def __init__(self, locker: Locker) -> None:
        super().__init__()
        self.locker = locker
        self.first = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.first:
            self.first = False
            self.locker.lock()
        return await super().handle_DATA(server, session, envelope)


def test_results_the_locked_ledger_could_not_record_are_recorded_later_and_not_resent(
        tmp_path: Path) -> None:
    directory = tmp_path / "d"
    (directory / "state").mkdir(parents=True)
    locker = Locker(directory / "state" / "ledger.sqlite3")
    smtp = SmtpServer()
    smtp.handler = LockOnFirstMessage(locker)
    with smtp:
        config = load_config(write_burst_deployment(directory, units=40,
                                                    smtp_port=smtp.port))
        store = open_store(config)
        store.db.execute("PRAGMA busy_timeout=100")   # type: ignore[attr-defined]

        async def run() -> tuple[BaseException | None, int, int, int]:
            async with open_transport(config) as transport:
                delivery = Delivery(config, store, transport, FixedClock(BURST_AT))
                try:
                    await delivery.deliver_due(BURST_AT)
                    error = None
                except Exception as exc:
                    error = exc
                held = delivery.unrecorded
                sent_while_locked = smtp.count()
                locker.release()
                report = await delivery.deliver_due(BURST_AT)
                return error, held, sent_while_locked, report.sent

        try:
            error, held, sent_while_locked, sent_after = asyncio.run(
                asyncio.wait_for(run(), timeout=120))
            counts = store.counts()
        finally:
            locker.close()
            store.close()
    assert error is not None and is_unavailable(error), error
    assert held == sent_while_locked > 0          # sent, kept, not forgotten
    assert sent_after == 41                      # every result recorded by the second run
    seen = tally(smtp.received)
    assert (seen.received, seen.distinct, seen.duplicates, seen.mixed_ids) == (41, 41, 0, 0)
    assert counts["sent"] == 41 and counts["sending"] == 0 and counts["planned"] == 0


def test_the_confirm_post_answers_503_while_the_ledger_is_locked_then_200(
        tmp_path: Path) -> None:
    config = load_config(write_followup_deployment(tmp_path / "d"))
    store = open_store(config)
    store.db.execute("PRAGMA busy_timeout=100")   # type: ignore[attr-defined]
    locker = Locker(config.state_dir / "ledger.sqlite3")
    token = sign(load_secrets(store, config.state_dir).current,
                 confirm_claim(config, "phong-b", EVENT, DUE))
    clock = FixedClock(BURST_AT + timedelta(days=3))

    async def run() -> list[tuple[int, str, str | None]]:
        app = create_app(WebState(clock), config)
        FollowupSite(config, store, clock).install(app)
        runner = await start_server(app, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/xac-nhan/{token}"
        form = {"token": token, "action": "confirm", "ref": "Báo cáo số 7/BC"}
        answers = []
        try:
            async with aiohttp.ClientSession() as session:
                for locked in (True, False):
                    if locked:
                        locker.lock()
                    async with session.post(url, data=form) as response:
                        answers.append((response.status, await response.text(),
                                        response.headers.get("Retry-After")))
                    answers.append((store.confirmation_count(), "", None))
                    locker.release()
        finally:
            await runner.cleanup()
        return answers

    try:
        answers = asyncio.run(asyncio.wait_for(run(), timeout=60))
    finally:
        locker.close()
        store.close()
    (status, page, retry), (count, _, _), (status_after, page_after, _), (count_after, _, _) \
        = answers
    assert status == 503 and retry is not None and int(retry) > 0
    assert "tạm gián đoạn" in page and "chưa có gì được ghi nhận" in page
    assert count == 0
    assert status_after == 200 and "Đã ghi nhận" in page_after
    assert count_after == 1

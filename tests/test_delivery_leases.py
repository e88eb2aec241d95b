"""Leases seen from delivery: two nodes (two stores with different owners on one real
SQLite ledger) and the claims one of them has in flight. A lease renewed in time keeps
the other node off; one that ran out and was taken over is not sent by the first node;
and a whole delivery run sends nothing another node took over meanwhile."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from nodes_helpers import BURST_AT, tally, write_burst_deployment
from smtp_helpers import SmtpServer

from scheduler.clock import FixedClock
from scheduler.config import load_config
from scheduler.delivery import Delivery, InFlight
from scheduler.mail import open_transport
from scheduler.store import Outcome, PlannedRow
from scheduler.store.sqlite import SqliteStore
from tests.store_backends import Opener

LEASE = timedelta(seconds=10)


def _nodes(tmp_path: Path, units: int, port: int = 25) -> tuple[Delivery, SqliteStore,
                                                                  SqliteStore, FixedClock]:
    config = load_config(write_burst_deployment(tmp_path / "d", units=units, smtp_port=port))
    path = config.state_dir / "ledger.sqlite3"
    a = SqliteStore(path, owner="node-a", lease=LEASE)
    b = SqliteStore(path, owner="node-b", lease=LEASE)
    clock = FixedClock(BURST_AT)
    planner = Delivery(config, a, open_transport(config), clock)
    planner.plan_window(BURST_AT.date(), BURST_AT.date())
    return planner, a, b, clock


def test_a_renewed_lease_keeps_the_other_node_off_and_a_lost_one_is_not_sent(
        tmp_path: Path) -> None:
    _, a, b, clock = _nodes(tmp_path, units=3)
    kept, taken = a.claim_due(BURST_AT, limit=2)
    flight = InFlight(a, clock)
    flight.add([kept, taken], BURST_AT)
    clock.advance(LEASE * 0.6)
    flight.renew([kept])                          # only `kept` is renewed in time
    clock.advance(LEASE * 0.6)                    # `taken`'s lease ran out
    assert flight.holds(kept)
    stolen = b.claim_due(clock.now(), limit=10)
    tokens = {c.token for c in stolen}            # b took `taken` and the 2 unclaimed
    assert taken.token in tokens and kept.token not in tokens and len(tokens) == 3
    flight.renew([kept, taken])
    assert flight.holds(kept) and not flight.holds(taken)
    a.close()
    b.close()


def test_a_claim_whose_lease_ran_out_unrenewed_is_not_sent(tmp_path: Path) -> None:
    _, a, b, clock = _nodes(tmp_path, units=1)
    [claim, *_] = a.claim_due(BURST_AT, limit=1)
    flight = InFlight(a, clock)
    flight.add([claim], BURST_AT)
    clock.advance(LEASE + timedelta(seconds=1))   # the store was away: no renewal
    assert not flight.holds(claim)
    a.close()
    b.close()


def test_a_run_does_not_send_what_another_node_took_over(tmp_path: Path) -> None:
    """Node a claimed every group and stalled past its lease; node b took them over and
    sent them. a's next run sends nothing again (it owns nothing any more)."""
    with SmtpServer() as smtp:
        planner, a, b, clock = _nodes(tmp_path, units=20, port=smtp.port)
        a.claim_due(BURST_AT, limit=100)
        clock.advance(LEASE + timedelta(seconds=1))

        async def run() -> tuple[int, int]:
            async with open_transport(planner.config) as transport:
                node_b = Delivery(planner.config, b, transport, clock)
                sent_b = (await node_b.deliver_due(clock.now(), plan=False)).sent
                node_a = Delivery(planner.config, a, transport, clock)
                sent_a = (await node_a.deliver_due(clock.now(), plan=False)).sent
                return sent_a, sent_b

        sent_a, sent_b = asyncio.run(asyncio.wait_for(run(), timeout=60))
        counts = a.counts()
        a.close()
        b.close()
    assert (sent_a, sent_b) == (0, 21)
    seen = tally(smtp.received)
    assert (seen.received, seen.duplicates, seen.mixed_ids) == (21, 0, 0)
    assert counts["sent"] == 21 and counts["sending"] == 0


def test_a_dead_nodes_lease_end_is_when_the_others_wake_up(stores: Opener) -> None:
    """Without it the surviving nodes would sleep to the next planned send and leave a
    dead node's claims unsent for days."""
    rows = [PlannedRow(key=f"don-vi-{n}/bao-cao/2026/1", digest_key=f"2026-06-09/don-vi-{n}",
                       unit=f"don-vi-{n}", send_at=BURST_AT, event_end=BURST_AT.date())
            for n in range(3)]
    with stores("dead", LEASE) as dead, stores("alive", LEASE) as alive:
        dead.add(rows)
        claims = dead.claim_due(BURST_AT, 10)
        assert len(claims) == 3
        assert alive.next_attempt_after(BURST_AT) == BURST_AT + LEASE
        taken = alive.claim_due(BURST_AT + LEASE, 10)
        alive.record([Outcome(c, "sent", BURST_AT + LEASE) for c in taken])
        assert alive.next_attempt_after(BURST_AT) is None

"""Claims are leases: a node that dies leaves claims another takes over after expiry, under
the same token; a node that lost its lease changes nothing; only a node's own (or ownerless)
claims come back at its start."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.store import Outcome, PlannedRow, Store
from tests.store_backends import Opener, raw_sql

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AT = datetime(2026, 10, 20, 8, 0, tzinfo=HCM)
LEASE = timedelta(seconds=120)
Node = Callable[[str], Store]



def _rows(units: int = 1) -> list[PlannedRow]:
    return [PlannedRow(key=f"don-vi-{n}/ngay-{event}/2026/0", digest_key=f"2026-10-20/don-vi-{n}",
                       unit=f"don-vi-{n}", send_at=AT, event_end=date(2026, 10, 20))
            for n in range(units) for event in ("a", "b")]


@pytest.fixture
def node(stores: Opener) -> Node:
    """Open the test's one store (each back-end in turn) as the node `owner`."""
    return lambda owner: stores(owner, LEASE)


def test_a_live_lease_is_not_taken_over_and_an_expired_one_keeps_its_token(
        node: Node) -> None:
    with node("a") as a, node("b") as b:
        a.add(_rows())
        (claim,) = a.claim_due(AT, 10)
        assert b.claim_due(AT + LEASE - timedelta(seconds=1), 10) == []
        (taken,) = b.claim_due(AT + LEASE, 10)
        assert taken.token == claim.token and taken.reminder_keys == claim.reminder_keys
        assert a.claim_due(AT + 2 * LEASE - timedelta(seconds=1), 10) == []  # b holds it now


def test_a_node_that_lost_its_lease_cannot_record_over_the_new_owner(node: Node) -> None:
    with node("a") as a, node("b") as b:
        a.add(_rows())
        (claim,) = a.claim_due(AT, 10)
        (taken,) = b.claim_due(AT + LEASE, 10)
        a.record([Outcome(claim, "retry", AT + LEASE, "451 later", AT + LEASE)])
        a.record([Outcome(claim, "failed", AT + LEASE, "550 no")])
        assert a.counts()["sending"] == 2          # b's claim is untouched
        assert a.renew([claim], AT + LEASE) == [claim]   # a learns it lost the claim
        assert b.renew([taken], AT + LEASE) == []
        b.record([Outcome(taken, "sent", AT + LEASE)])
        assert b.counts()["sent"] == 2 and b.errors("sent") == [
            (key, "") for key in taken.reminder_keys]


def test_renewing_pushes_the_lease_on(node: Node) -> None:
    with node("a") as a, node("b") as b:
        a.add(_rows())
        (claim,) = a.claim_due(AT, 10)
        assert a.renew([claim], AT + timedelta(seconds=100)) == []
        assert b.claim_due(AT + LEASE + timedelta(seconds=10), 10) == []
        (taken,) = b.claim_due(AT + timedelta(seconds=100) + LEASE, 10)
        assert taken.token == claim.token


def test_start_recovers_only_this_nodes_claims_and_ownerless_ones(
        node: Node) -> None:
    with node("a") as a, node("b") as b:
        a.add(_rows(units=3))
        first, second, third = a.claim_due(AT, 1) + b.claim_due(AT, 1) + b.claim_due(AT, 1)
        # A ledger claimed by a program from before leases: no owner on its rows.
        raw_sql(a, "UPDATE reminder SET owner = NULL WHERE token = ?", third.token)
        assert a.recover_interrupted() == 4     # its own claim and the ownerless one
        assert a.states(second.reminder_keys) == dict.fromkeys(second.reminder_keys,
                                                                "sending")
        again = {c.token for c in a.claim_due(AT, 10)}
        assert again == {first.token, third.token}


def test_records_and_claims_of_one_transaction_stay_with_their_node(node: Node) -> None:
    with node("a") as a:
        a.add(_rows(units=2))
        one, two = a.claim_due(AT, 10)
        (again,) = a.claim_due(AT, 10, done=[Outcome(one, "sent", AT),
                                             Outcome(two, "retry", AT, "421", AT)])
        assert (again.token, again.attempts) == (two.token, 1)
        assert a.counts()["sent"] == 2 and a.counts()["sending"] == 2

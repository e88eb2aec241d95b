"""Soak: three real nodes on one PostgreSQL, a burst, and one node SIGKILLed at a random
moment of it — again and again. Counts, per trial and in total, what the receiving SMTP
server got: reminders lost, copies (the same Message-ID twice: what was on the wire at the
kill) and copies under a *different* Message-ID (must be 0).

    .venv/bin/python bench/soak_nodes.py [--units 2000] [--trials 20] [--lease 10]

Each trial: a fresh database on one throwaway cluster (tests/pg_cluster.py: needs
Debian's postgresql), aiosmtpd on loopback (tests/smtp_helpers.py), three `lichnhac run`
processes sharing one rehearsal clock that reaches 08:00 once all are ready, every unit
(and the coordinator) reminded at 08:00; one node, chosen at random, killed after a
random share (5–80 %) of the burst has been received; then wait for the ledger to say
every reminder is sent (the dead node's leases run out after `--lease` seconds).
Not part of the test suite; tests/test_nodes.py holds the single-trial assertions.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import psycopg  # noqa: E402
from daemon_process import DaemonProcess  # noqa: E402
from machine import describe  # noqa: E402
from nodes_helpers import BURST_AT, shared_clock_env, tally, write_burst_deployment  # noqa: E402
from smtp_helpers import SmtpServer  # noqa: E402

from scheduler.store.postgresql import PostgresqlStore  # noqa: E402
from tests.pg_cluster import PgCluster  # noqa: E402


def states(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {str(s): int(n) for s, n in conn.execute(
            "SELECT state, COUNT(*) FROM reminder GROUP BY state").fetchall()}


def trial(cluster: PgCluster, work: Path, units: int, lease: int, warmup: float,
          rng: random.Random) -> dict[str, object]:
    """One burst with one node killed; what the receiver saw."""
    url = cluster.database()
    with PostgresqlStore(url, owner="soak", check_schema=False) as store:
        store.upgrade()
    expected = units + 1
    with SmtpServer() as smtp:
        configs = [write_burst_deployment(work, units=units, smtp_port=smtp.port,
                                          state_dir=f"state-{n}", name=f"config-{n}.toml",
                                          state_extra=f'database = "{url}"\n'
                                                      f'lease_seconds = {lease}\n')
                   for n in (1, 2, 3)]
        env = shared_clock_env(BURST_AT - timedelta(seconds=warmup))
        nodes = [DaemonProcess(path, env=env) for path in configs]
        try:
            for node in nodes:
                node.wait_ready(timeout=warmup + 60)
            victim_index = rng.randrange(3)
            kill_share = rng.uniform(0.05, 0.8)
            deadline = time.monotonic() + warmup + 600
            while smtp.count() < kill_share * expected:
                if time.monotonic() > deadline:
                    raise SystemExit("the burst did not start")
                time.sleep(0.02)
            nodes[victim_index].proc.kill()
            killed_at_count = smtp.count()
            in_flight = states(url).get("sending", 0)
            while states(url).get("sent", 0) < expected:
                if time.monotonic() > deadline:
                    raise SystemExit(f"not every reminder was sent: {states(url)}")
                time.sleep(0.2)
            time.sleep(1.0)     # a late copy would arrive by now
        finally:
            for node in nodes:
                node.__exit__()
        seen = tally(smtp.received)
    return {"node_killed": victim_index + 1, "killed_after": killed_at_count,
            "claimed_at_kill": in_flight, "received": seen.received,
            "lost": seen.lost(expected), "duplicates": seen.duplicates,
            "duplicates_other_id": seen.mixed_ids, "ledger": states(url)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--lease", type=int, default=10, help="[state] lease_seconds")
    parser.add_argument("--warmup", type=float, default=40.0,
                        help="seconds from the nodes' start to 08:00 on their clock")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="one JSON object per trial")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    print(f"machine: {describe()}", flush=True)
    print(f"{args.trials} trials: 3 nodes, {args.units + 1} reminders at 08:00, one node "
          f"SIGKILLed at random, lease {args.lease} s", flush=True)
    cluster = PgCluster.start()
    totals = {"lost": 0, "duplicates": 0, "duplicates_other_id": 0, "received": 0}
    started = time.monotonic()
    try:
        for number in range(1, args.trials + 1):
            work = Path(tempfile.mkdtemp(prefix="lichnhac-soak-"))
            try:
                result = trial(cluster, work, args.units, args.lease, args.warmup, rng)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            for key in totals:
                totals[key] += int(result[key])  # type: ignore[call-overload]
            if args.json:
                print(json.dumps({"trial": number, **result}), flush=True)
            else:
                print(f"trial {number:2d}: node {result['node_killed']} killed after "
                      f"{result['killed_after']} received ({result['claimed_at_kill']} rows "
                      f"claimed by all nodes at the kill); received {result['received']}, lost "
                      f"{result['lost']}, duplicates {result['duplicates']} (other "
                      f"Message-ID: {result['duplicates_other_id']})", flush=True)
    finally:
        cluster.destroy()
    print(f"total over {args.trials} trials ({time.monotonic() - started:.0f} s): "
          f"{totals['received']} received, lost {totals['lost']}, duplicates "
          f"{totals['duplicates']} (same Message-ID), duplicates with another Message-ID "
          f"{totals['duplicates_other_id']}", flush=True)
    return 0 if totals["lost"] == 0 and totals["duplicates_other_id"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

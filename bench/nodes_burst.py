"""Burst through real nodes: one node on SQLite, one node on PostgreSQL, two nodes on one
PostgreSQL — the same burst to Postfix's smtp-sink, in messages/s.

    .venv/bin/python bench/nodes_burst.py [--units 2000] [--connections 8] [--runs 1]

Each setup starts `lichnhac run` processes (SMTP to smtp-sink on loopback, `--connections`
per node) on one rehearsal clock that reaches 08:00 `--warmup` seconds later, once every
node is ready; at 08:00 every unit and the coordinator are due (tests/nodes_helpers.py's
deployment). The rate is the reminders divided by the time from 08:00 to the moment the
ledger says the last one is sent (polled every 50 ms): claim, render, SMTP and record,
across the nodes. PostgreSQL is a throwaway cluster on this machine (tests/pg_cluster.py,
fsync off), so the figures show the cost of the store and of sharing it, not of a disk
or a network. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import psycopg  # noqa: E402
from daemon_process import DaemonProcess  # noqa: E402
from delivery_bench import SINK, free_port, start_sink  # noqa: E402
from machine import describe  # noqa: E402
from nodes_helpers import BURST_AT, shared_clock_env, write_burst_deployment  # noqa: E402

from scheduler.store.postgresql import PostgresqlStore  # noqa: E402
from tests.pg_cluster import PgCluster  # noqa: E402


def pg_sent(url: str) -> Callable[[], int]:
    def sent() -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT COUNT(*) FROM reminder WHERE state = 'sent'").fetchone()
            return int(row[0]) if row else 0
    return sent


def sqlite_sent(path: Path) -> Callable[[], int]:
    def sent() -> int:
        if not path.exists():
            return 0
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT COUNT(*) FROM reminder WHERE state = 'sent'")
                       .fetchone()[0])
        except sqlite3.OperationalError:
            return 0
        finally:
            db.close()
    return sent


def burst(work: Path, units: int, port: int, connections: int, nodes: int, warmup: float,
          url: str | None) -> float:
    """Seconds from 08:00 to the last reminder recorded sent."""
    expected = units + 1
    extra = f'database = "{url}"\n' if url else ""
    configs = [write_burst_deployment(work, units=units, smtp_port=port,
                                      state_dir=f"state-{n}", name=f"config-{n}.toml",
                                      state_extra=extra, connections=connections)
               for n in range(1, nodes + 1)]
    sent = pg_sent(url) if url else sqlite_sent(work / "state-1" / "ledger.sqlite3")
    at_eight = time.time() + warmup
    env = shared_clock_env(BURST_AT - timedelta(seconds=warmup), epoch=at_eight - warmup)
    processes = [DaemonProcess(path, env=env) for path in configs]
    try:
        for process in processes:
            process.wait_ready(timeout=warmup + 60)
        if time.time() >= at_eight:
            raise SystemExit("a node was not ready before 08:00: raise --warmup")
        while sent() < expected:
            if time.time() > at_eight + 900:
                raise SystemExit("the burst did not finish in 15 minutes")
            time.sleep(0.05)
        return time.time() - at_eight
    finally:
        for process in processes:
            process.__exit__()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8,
                        help="[mail.smtp] max_connections of each node")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--warmup", type=float, default=40.0)
    args = parser.parse_args(argv)
    if not Path(SINK).exists():
        raise SystemExit("needs Postfix's smtp-sink: bash bench/system-deps.sh")
    print(f"machine: {describe()}", flush=True)
    port = free_port()
    sink = start_sink(port)
    cluster = PgCluster.start()
    setups = [("1 node, SQLite", 1, False), ("1 node, PostgreSQL", 1, True),
              ("2 nodes, one PostgreSQL", 2, True)]
    results: dict[str, list[float]] = {name: [] for name, _, _ in setups}
    try:
        for _ in range(args.runs):
            for name, nodes, postgresql in setups:
                url = None
                if postgresql:
                    url = cluster.database()
                    with PostgresqlStore(url, owner="bench", check_schema=False) as store:
                        store.upgrade()
                work = Path(tempfile.mkdtemp(prefix="lichnhac-nodes-burst-"))
                try:
                    seconds = burst(work, args.units, port, args.connections, nodes,
                                    args.warmup, url)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
                results[name].append((args.units + 1) / seconds)
                print(f"{name}: {args.units + 1} reminders in {seconds:.1f} s = "
                      f"{(args.units + 1) / seconds:.0f} messages/s", flush=True)
    finally:
        cluster.destroy()
        sink.terminate()
        sink.wait(timeout=10)
    print(f"\nburst of {args.units + 1} reminders at 08:00, {args.connections} SMTP "
          f"connections per node, smtp-sink; median of {args.runs} run(s):")
    for name, rates in results.items():
        print(f"  {name:26s} {statistics.median(rates):6.0f} messages/s "
              f"({min(rates):.0f}–{max(rates):.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

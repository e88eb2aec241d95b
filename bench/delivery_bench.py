"""Delivery benchmark: one national burst through the full pipeline to a local SMTP sink.

    .venv/bin/python bench/dataset.py national /tmp/nat
    .venv/bin/python bench/delivery_bench.py /tmp/nat/config.toml [--connections 8]

Starts Postfix's `smtp-sink` on loopback (apt-get install postfix), then:

1. *baseline*: Postfix's `smtp-source` sends the same number of messages of the same
   size to the sink: the rate a plain SMTP load generator gets on this machine;
2. *lichnhac*: the send day on which every unit has a reminder (7 days before 20/10) is
   planned into a fresh store and `Delivery.deliver_due` sends every digest —
   plan, claim, render (Jinja2 + MIME + .ics), SMTP, record — to the same sink. The store
   is a SQLite ledger (`--store sqlite`, the default) or a database in a throwaway
   PostgreSQL cluster this bench starts, with fsync on (`--store postgresql`).

Prints messages/s for both, the pipeline's phases, and the peak RSS of this process.
Not part of the test suite: speed depends on the machine, so it is measured, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from machine import describe  # bench/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.clock import FixedClock
from scheduler.config import Config, load_config
from scheduler.delivery import Delivery
from scheduler.mail import open_transport
from scheduler.store import open_store

SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    # -c: count; -u: drop root to nobody; backlog 256. The sink accepts everything.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([SINK, *user, f"127.0.0.1:{port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    raise SystemExit("smtp-sink did not start")


def baseline(port: int, messages: int, size: int, sessions: int) -> float:
    """smtp-source → smtp-sink: messages/s of a plain load generator."""
    started = time.perf_counter()
    subprocess.run([SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size),
                    "-f", "bench@example.gov.vn", "-t", "sink@example.gov.vn",
                    f"127.0.0.1:{port}"], check=True, timeout=900)
    return messages / (time.perf_counter() - started)


def bench_config(path: Path, state: Path, port: int, connections: int,
                 database_url: str | None = None) -> Config:
    config = load_config(path)
    smtp = dataclasses.replace(config.mail.smtp, host="127.0.0.1", port=port,
                               max_connections=connections, max_per_second=1_000_000.0,
                               timeout_seconds=60.0)
    mail = dataclasses.replace(config.mail, transport="smtp", smtp=smtp)
    return dataclasses.replace(config, mail=mail, state_dir=state, database_url=database_url)


@contextlib.contextmanager
def store_url(kind: str) -> Iterator[str | None]:
    """None for SQLite; for PostgreSQL, a fresh database with the schema in a durable
    throwaway cluster (stopped and removed afterwards)."""
    if kind == "sqlite":
        yield None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg_cluster import PgCluster

    from scheduler.store.postgresql import PostgresqlStore

    cluster = PgCluster.start(durable=True)
    try:
        url = cluster.database()
        with PostgresqlStore(url, owner="bench", check_schema=False) as setup:
            setup.upgrade()
        yield url
    finally:
        cluster.destroy()


async def pipeline(config: Config, day: date) -> dict[str, float]:
    send_at = datetime.combine(day, config.reminders.send_time, tzinfo=config.timezone)
    figures: dict[str, float] = {}
    with open_store(config) as ledger:
        async with open_transport(config) as transport:
            delivery = Delivery(config, ledger, transport, FixedClock(send_at))
            started = time.perf_counter()
            digests = delivery.plan_window(day, day)
            planned = time.perf_counter()
            report = await delivery.deliver_due(send_at, plan=False)
            done = time.perf_counter()
    figures["digests"] = len(digests)
    figures["items"] = sum(len(d.items) for d in digests)
    figures["sent"] = report.sent
    figures["failed"] = report.failed + report.retrying
    figures["plan_seconds"] = planned - started
    figures["deliver_seconds"] = done - planned
    figures["total_seconds"] = done - started
    figures["rate"] = report.sent / (done - started)
    figures["deliver_rate"] = report.sent / (done - planned)
    return figures


def average_message_size(config: Config, day: date) -> int:
    from scheduler.mail.render import MessageRenderer
    from scheduler.reminders import plan_reminders
    from scheduler.store import message_token

    digests = plan_reminders(config, day, day)[:50]
    renderer = MessageRenderer(config)
    sizes = [len(renderer.outgoing(d, message_token(d.key, [i.key for i in d.items]),
                                   d.send_at).data) for d in digests]
    return sum(sizes) // max(1, len(sizes))




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path, help="national dataset config.toml")
    parser.add_argument("--connections", type=int, default=8,
                        help="[mail.smtp] max_connections and smtp-source sessions")
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 10, 13),
                        help="the burst's send day (default 13/10/2026: 7 days before 20/10)")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                        help="the store the burst is planned into and recorded in")
    parser.add_argument("--json", action="store_true",
                        help="print this run's figures as one JSON object (for bench/run.py)")
    args = parser.parse_args()
    if not (shutil.which(SINK) or Path(SINK).exists()):
        raise SystemExit("needs Postfix's smtp-sink/smtp-source: apt-get install postfix")
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory(prefix="lichnhac-bench-") as state, \
                store_url(args.store) as url:
            config = bench_config(args.config, Path(state), port, args.connections, url)
            size = average_message_size(config, args.day)
            figures = asyncio.run(pipeline(config, args.day))
            peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # The peer runs once the store is gone: a PostgreSQL cluster checkpointing the
        # burst's updates in the background would slow it and flatter our ratio.
        plain = baseline(port, int(figures["digests"]), size, args.connections)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    if args.json:
        print(json.dumps({**figures, "store": args.store, "message_bytes": size,
                          "peak_rss_mib": peak_kib / 1024,
                          "smtp_source_rate": plain, "connections": args.connections}))
        return 0
    print(f"machine: {describe()}")
    print(f"burst: {args.day.isoformat()} {int(figures['digests'])} digests "
          f"({int(figures['items'])} reminders), ~{size} bytes each, "
          f"{args.connections} SMTP connections, store: {args.store}")
    print(f"lichnhac: {int(figures['sent'])} sent, {int(figures['failed'])} not sent, "
          f"{figures['total_seconds']:.1f} s = {figures['rate']:.0f} messages/s "
          f"(plan {figures['plan_seconds']:.1f} s, deliver {figures['deliver_seconds']:.1f} s"
          f" = {figures['deliver_rate']:.0f}/s)")
    print(f"peak RSS: {peak_kib / 1024:.0f} MiB")
    print(f"smtp-source → smtp-sink, same count and size: {plain:.0f} messages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Feed revisions in the store at national scale: what one build's store update costs.

    .venv/bin/python bench/store_documents_bench.py [--scale national|province] [--runs 5]

1. Generates the dataset (bench/dataset.py) in a temp dir and loads its config.
2. Builds every feed once into an empty SQLite store (creates both revision documents),
   then reports the documents' sizes and the whole build's time.
3. Times the feed-revisions update of one build (`stamp_feeds`, one transaction) over
   every feed path: unchanged data (read + compare, nothing written; parsed again or
   reused from the process's last write), and every
   feed changed (an event all units share was edited: parse, merge, dump, write, fsync);
   and the events document's update the same way. Median and range of `--runs` runs.
4. Times reading the events document as an email attachment does (`EventRevisions.read`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from machine import describe  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dataset import write_dataset  # noqa: E402

from scheduler.config import load_config  # noqa: E402
from scheduler.feeds import build_feedset, revisions  # noqa: E402
from scheduler.feeds.revisions import (  # noqa: E402
    EVENTS_DOCUMENT,
    FEEDS_DOCUMENT,
    EventRevisions,
    stamp_events,
    stamp_feeds,
)
from scheduler.store.sqlite import SqliteStore  # noqa: E402


def _timed(runs: int, work) -> list[float]:  # type: ignore[no-untyped-def]
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        found.append(time.perf_counter() - started)
    return found


def _show(label: str, seconds: list[float]) -> None:
    print(f"  {label}: median {statistics.median(seconds) * 1000:.0f} ms "
          f"({min(seconds) * 1000:.0f}–{max(seconds) * 1000:.0f} ms, {len(seconds)} runs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("national", "province"), default="national")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(describe())
    with tempfile.TemporaryDirectory(prefix="lnh-docs-") as tmp:
        config = load_config(write_dataset(args.scale, Path(tmp)))
        store = SqliteStore(Path(tmp) / "state" / "ledger.sqlite3")
        now = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
        started = time.perf_counter()
        feeds = build_feedset(config, date(2026, 11, 22), store, now=now)
        print(f"{args.scale}: {len(feeds.feeds):,} feeds, {len(feeds.occurrences)} VEVENTs; "
              f"first build into an empty store {time.perf_counter() - started:.1f} s")
        events_doc = store.read_document(EVENTS_DOCUMENT) or b""
        feeds_doc = store.read_document(FEEDS_DOCUMENT) or b""
        print(f"  documents: feeds {len(feeds_doc) / 1e6:.2f} MB, "
              f"events {len(events_doc) / 1e3:.1f} kB")
        feed_revs = {p: e[0] for p, e in json.loads(feeds_doc)["feeds"].items()}
        event_revs = {u: e[0] for u, e in json.loads(events_doc)["events"].items()}
        _show("feeds document, unchanged, parsed before by this process (daemon rebuild)",
              _timed(args.runs, lambda: stamp_feeds(store, feed_revs, now)))

        def cold() -> None:
            revisions._feeds_parsed = None      # a fresh process: `export`, another node
            stamp_feeds(store, feed_revs, now)

        _show("feeds document, unchanged, first read by this process (export)",
              _timed(args.runs, cold))
        counter = iter(range(1, 1_000_000))

        def every_feed_changed() -> None:
            n = next(counter)
            stamp_feeds(store, {p: f"{r[:12]}{n:04x}" for p, r in feed_revs.items()},
                        now + timedelta(minutes=n))

        _show("feeds document, every feed changed (rewrite + fsync)",
              _timed(args.runs, every_feed_changed))

        def every_event_changed() -> None:
            n = next(counter)
            stamp_events(store, {u: f"{r[:12]}{n:04x}" for u, r in event_revs.items()},
                         now + timedelta(minutes=n))

        _show("events document, every event changed", _timed(args.runs, every_event_changed))
        _show("events document read by one email attachment",
              _timed(args.runs * 20, lambda: EventRevisions.read(store, None)))
        started = time.perf_counter()
        build_feedset(config, date(2026, 11, 22), store, now=now + timedelta(days=1))
        print(f"  a whole build again (revisions all changed back): "
              f"{time.perf_counter() - started:.1f} s")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

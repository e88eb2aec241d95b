"""Register benchmark: the coordinator's register page and its CSV/XLSX at national scale.

    .venv/bin/python bench/register_bench.py [--scale national|province] [--runs 5]

1. Generates the dataset (bench/dataset.py: ~35,000 units, the national calendar and the
   bench calendar's quarterly deadline for every commune unit) with `[followup]` on.
2. Fills the ledger with confirmations for every other (occurrence, unit) of 2026 (bulk
   SQL insert for the set-up only; the measured paths read through the Ledger interface).
3. Serves the real web app (aiohttp on loopback, `FollowupSite` over the SQLite ledger)
   in a thread and times, over HTTP, with today = 2026-12-01: the register page
   (first page, and filtered to overdue units + a search), the year's CSV and XLSX,
   after the warm-up the daemon runs in the background at start (`--cold`: without it);
   then a confirm-for-a-unit POST (the cached rows are patched) and the CSV right after
   it (regenerated). Prints the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from dataset import write_dataset  # bench/ is on sys.path when run as a script
from machine import describe

from scheduler.clock import FixedClock
from scheduler.config import load_config
from scheduler.followup.links import register_token
from scheduler.followup.register import build_register
from scheduler.followup.site import FollowupSite
from scheduler.store.sqlite import SqliteStore
from scheduler.web import WebState, create_app, start_server

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def _serve(app: object, site: FollowupSite, ready: threading.Event, port: list[int],
           warm: list[float]) -> None:
    loop = asyncio.new_event_loop()

    async def start() -> None:
        runner = await start_server(app, "127.0.0.1", 0)  # type: ignore[arg-type]
        port.append(int(runner.addresses[0][1]))
        if warm:
            started = time.perf_counter()
            await site.warm()   # what the daemon runs in the background after start
            warm[0] = time.perf_counter() - started
        ready.set()

    loop.run_until_complete(start())
    loop.run_forever()


def _time(url: str, runs: int) -> tuple[float, float, float, int]:
    """(first request, median of the others, max of the others, bytes)."""
    times = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=600) as response:
            size = len(response.read())
        times.append(time.perf_counter() - started)
    rest = times[1:] or times
    return times[0], statistics.median(rest), max(rest), size


def _confirm_one(base: str, token: str, row: object) -> float:
    """POST a confirm-for-a-unit from the register; the time until the page is back."""
    data = urllib.parse.urlencode({"token": token, "action": "confirm",
                                   "unit": row.unit, "event": row.event,  # type: ignore[attr-defined]
                                   "due": row.due.isoformat()}).encode()  # type: ignore[attr-defined]
    started = time.perf_counter()
    request = urllib.request.Request(base + "?nam=2026", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("national", "province"), default="national")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", dest="warm", action="store_false",
                        help="skip the daemon's background warm-up before measuring")
    args = parser.parse_args(argv)
    print(describe())
    with tempfile.TemporaryDirectory(prefix="register-bench-") as temp:
        path = write_dataset(args.scale, Path(temp))
        path.write_text(path.read_text(encoding="utf-8")
                        + "\n[followup]\nenabled = true\noverdue_days = [1, 3, 7]\n",
                        encoding="utf-8")
        started = time.perf_counter()
        config = load_config(path)
        print(f"config: {len(config.units)} units, {len(config.events)} events, loaded in "
              f"{time.perf_counter() - started:.2f} s")
        ledger = SqliteStore(config.state_dir / "ledger.sqlite3")
        rows = build_register(config, 2026, [], NOW.date())
        ledger.db.execute("BEGIN")
        ledger.db.executemany(
            "INSERT INTO confirmation VALUES (?, ?, ?, ?, 25200, 'unit', ?)",
            ((r.unit, r.event, r.due.isoformat(), NOW.timestamp(), f"Báo cáo số {i}/BC")
             for i, r in enumerate(rows) if i % 2 == 0))
        ledger.db.execute("COMMIT")
        print(f"register 2026: {len(rows)} rows (occurrence × unit), "
              f"{ledger.confirmation_count()} confirmed")
        site = FollowupSite(config, ledger, FixedClock(NOW))
        app = create_app(WebState(FixedClock(NOW)), config)
        site.install(app)
        ready, port, warm = threading.Event(), [], [0.0] if args.warm else []
        threading.Thread(target=_serve, args=(app, site, ready, port, warm),
                         daemon=True).start()
        ready.wait(600)
        if warm:
            print(f"background warm-up after start (every coordinator, 2025 and 2026): "
                  f"{warm[0]:.2f} s")
        base = f"http://127.0.0.1:{port[0]}/so-theo-doi/" + register_token(
            config, config.coordinator or "")
        print("first = the first request after start or a change (the register is rebuilt); "
              "then the median and max of the others (cached until the next change)")
        print(f"{'request':<40} {'first':>8} {'median':>8} {'max':>8} {'bytes':>11}")
        for label, url in (
                ("register page (first 100 rows)", base + "?nam=2026"),
                ("register page, overdue only, search", base + "?nam=2026&loc=qua-han&q=x%C3%A3"),
                ("register page, page 500", base + "?nam=2026&trang=500"),
                ("CSV of the year", base + "/2026.csv"),
                ("XLSX of the year", base + "/2026.xlsx")):
            first, median, high, size = _time(url, args.runs)
            print(f"{label:<40} {first:>7.2f}s {median:>7.2f}s {high:>7.2f}s {size:>11,}")
        token = base.rsplit("/", 1)[1]
        pending = [r for r in rows if r.unit.endswith("-th")][-3:]
        posts = [_confirm_one(base, token, r) for r in pending]
        print(f"confirm-for-a-unit POST (page rebuilt after it): "
              f"{', '.join(f'{t:.2f}s' for t in posts)}")
        first, median, high, size = _time(base + "/2026.csv", 2)
        print(f"{'CSV right after that change':<40} {first:>7.2f}s")
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

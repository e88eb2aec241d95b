"""Daemon bench: start-to-READY time and idle memory of `lichnhac run` at province scale.

    .venv/bin/python bench/daemon_bench.py [--scale province|national] [--runs 3]

Generates the dataset with bench/dataset.py into a temporary directory, points the
config's state at it and the web server at a free loopback port, then starts the real
daemon as systemd would (`NOTIFY_SOCKET` bound by us) and measures:

- start → READY=1: from process spawn to the READY datagram (includes interpreter start,
  config and calendar validation, ledger open, the catch-up run and the feed build);
- idle RSS: VmRSS 5 s after READY, then after every feed has been fetched once;
- the catch-ups: the first start (reminders due that day) and a start after an outage;
  emails go to the outbox Maildir.

Prints the machine's details with the figures. Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from machine import describe  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
QUIET_DAY = "2026-06-01T09:00:00+07:00"
# Thursday 18 June 2026, 17 days after the last run: reminders inside the grace window
# are caught up, older ones are marked missed.
BUSY_DAY = "2026-06-18T09:00:00+07:00"




def prepare(scale: str, directory: Path) -> Path:
    subprocess.run([sys.executable, str(ROOT / "bench" / "dataset.py"), scale, str(directory)],
                   check=True, stdout=subprocess.DEVNULL)
    config = directory / "config.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('[state]\ndir = "var"',
                        f'[state]\ndir = "{directory / "state"}"\n'
                        '[web]\nlisten = "127.0.0.1:0"', 1)
    config.write_text(text, encoding="utf-8")
    return config


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])  # type: ignore[index]


def outbox_count(config: Path) -> int:
    outbox = config.parent / "state" / "outbox"
    return sum(1 for p in outbox.rglob("*") if p.is_file()) if outbox.exists() else 0


def start_once(config: Path, now: str, fetch_all: bool) -> dict[str, float]:
    """One daemon start; emails = messages the catch-up wrote to the outbox before READY."""
    before = outbox_count(config)
    with tempfile.TemporaryDirectory(prefix="lnb-", dir="/tmp") as sock_dir:
        path = os.path.join(sock_dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(path)
        notify.settimeout(600)
        env = {**os.environ, "NOTIFY_SOCKET": path, "LICHNHAC_NOW": now}
        env.pop("JOURNAL_STREAM", None)
        # The log goes to a file: an unread pipe would fill up and stall the daemon.
        log = open(os.path.join(sock_dir, "stderr.log"), "wb")  # noqa: SIM115
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config),
                                 "--log-level", "warning", "run"], cwd=config.parent, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
        try:
            while b"READY=1" not in notify.recv(65536):
                pass
            ready = time.perf_counter() - started
            emails = outbox_count(config) - before
            time.sleep(5)
            result = {"ready_s": ready, "idle_rss_mib": rss_kib(proc.pid) / 1024,
                      "emails": emails}
            if fetch_all:
                result.update(fetch_every_feed(config, proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            notify.close()
            log.close()
        return result


def fetch_every_feed(config: Path, pid: int) -> dict[str, float]:
    """GET all.ics, every kind feed and every unit feed once, as subscribers would."""
    port = _listening_port(pid)
    base = f"http://127.0.0.1:{port}/feeds/"
    text = config.read_text(encoding="utf-8")
    units = re.findall(r'^\[\[unit\]\]\nid = "([^"]+)"', text, re.MULTILINE)
    paths = ["all.ics", *(f"kinds/{k}.ics" for k in
                          ("observance", "campaign", "deadline", "activity")),
             *(f"units/{u}.ics" for u in units)]
    total = 0
    for path in paths:
        total += len(urllib.request.urlopen(base + path, timeout=60).read())
    return {"feeds_fetched": len(paths), "feed_mib": total / 1024 / 1024,
            "rss_after_fetch_mib": rss_kib(pid) / 1024}


def _listening_port(pid: int) -> int:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
            return int(fields[1].split(":")[1], 16)
    raise RuntimeError("daemon is not listening")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("province", "national"), default="province")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory(prefix="lichnhac-bench-") as tmp:
        config = prepare(args.scale, Path(tmp))
        units = config.read_text(encoding="utf-8").count("[[unit]]")
        print(f"dataset: {args.scale}, {units} units")
        first = start_once(config, QUIET_DAY, fetch_all=False)
        print(f"first start, empty state dir, {QUIET_DAY[:10]}: READY in "
              f"{first['ready_s']:.2f} s (catch-up wrote {first['emails']:.0f} emails), "
              f"idle RSS {first['idle_rss_mib']:.1f} MiB")
        runs = [start_once(config, QUIET_DAY, fetch_all=False) for _ in range(args.runs)]
        ready = [r["ready_s"] for r in runs]
        rss = [r["idle_rss_mib"] for r in runs]
        print(f"restart x{args.runs}, nothing due: READY median "
              f"{statistics.median(ready):.2f} s (min {min(ready):.2f}, max {max(ready):.2f}); "
              f"idle RSS median {statistics.median(rss):.1f} MiB")
        fetched = start_once(config, QUIET_DAY, fetch_all=True)
        print(f"after fetching all {fetched['feeds_fetched']:.0f} feeds "
              f"({fetched['feed_mib']:.1f} MiB): RSS {fetched['rss_after_fetch_mib']:.1f} MiB")
        busy = start_once(config, BUSY_DAY, fetch_all=False)
        print(f"start after a 17-day outage ({BUSY_DAY[:10]}): READY in {busy['ready_s']:.2f} s "
              f"(catch-up wrote {busy['emails']:.0f} emails), idle RSS "
              f"{busy['idle_rss_mib']:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

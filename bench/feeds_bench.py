"""Feeds benchmark: national export time and peak memory, feed sizes, requests/s.

    .venv/bin/python bench/feeds_bench.py [--scale national|province] [--seconds 10]

1. Generates the dataset (bench/dataset.py) in a temp dir.
2. Runs `lichnhac export` twice in a subprocess: into an empty dir (every file written)
   and again with unchanged data (every file compared, none rewritten); wall time and
   the child's peak RSS (wait4 rusage).
3. Per-unit feed sizes from the exported files.
4. Requests/s for one cached unit feed: wrk (bounded duration, 2 threads, 32
   connections, loopback) against our aiohttp server, then against nginx serving the
   exported file (nginx runs from a config in the temp dir and is stopped afterwards).

Needs `wrk` and `nginx` (Debian: apt-get install -y wrk nginx). Prints the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from machine import describe  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

SERVER = textwrap.dedent("""
    import asyncio, sys
    from datetime import date
    from pathlib import Path
    from scheduler.config import load_config
    from scheduler.feeds import build_feedset
    from scheduler.store.documents import documents
    from scheduler.web import WebState, create_app, start_server

    async def main() -> None:
        config = load_config(Path(sys.argv[1]))
        state = WebState()
        state.set_feeds(build_feedset(config, date.today(), documents(config)))
        await start_server(create_app(state, config), "127.0.0.1", int(sys.argv[2]))
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")

NGINX = """
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    types {{ text/calendar ics; text/html html; }}
    charset utf-8;
    charset_types text/calendar;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        etag on;
    }}
}}
"""




def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed_export(config: Path, out: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB, summary line) of one `lichnhac export` subprocess."""
    started = time.perf_counter()
    child = subprocess.Popen([PYTHON, "-m", "scheduler", "--config", str(config), "export",
                              "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    assert child.stdout is not None
    summary = child.stdout.read().strip()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"export failed with status {child.returncode}")
    return seconds, usage.ru_maxrss / 1024, summary


def wrk(url: str, seconds: int) -> str:
    done = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--timeout", "5s", url],
                          capture_output=True, text=True, timeout=seconds + 60, check=True)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    latency = re.search(r"Latency\s+(\S+)", done.stdout)
    transfer = re.search(r"Transfer/sec:\s+(\S+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    return (f"{float(rate.group(1)) if rate else 0:,.0f} req/s, mean latency "
            f"{latency.group(1) if latency else '?'}, {transfer.group(1) if transfer else '?'}/s"
            + (f", {errors.group(1)} non-2xx" if errors else ""))


def wait_ready(url: str, timeout: float = 300) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} never answered")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("national", "province"), default="national")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    tmp = Path(tempfile.mkdtemp(prefix="lichnhac-feeds-bench-"))
    tmp.chmod(0o755)  # nginx workers run as an unprivileged user and must read the export
    try:
        subprocess.run([PYTHON, str(ROOT / "bench" / "dataset.py"), args.scale, str(tmp)],
                       check=True, capture_output=True)
        config = tmp / "config.toml"
        out = tmp / "out"
        cold = timed_export(config, out)
        print(f"export into an empty dir: {cold[0]:.1f} s wall, peak RSS {cold[1]:.0f} MiB")
        print(f"  {cold[2]}")
        warm = timed_export(config, out)
        print(f"export again, data unchanged: {warm[0]:.1f} s wall, peak RSS {warm[1]:.0f} MiB")
        sizes = sorted(p.stat().st_size for p in (out / "feeds" / "units").glob("*.ics"))
        print(f"unit feeds: {len(sizes)}, size min {sizes[0] / 1024:.1f} KiB, median "
              f"{statistics.median(sizes) / 1024:.1f} KiB, max {sizes[-1] / 1024:.1f} KiB, "
              f"total {sum(sizes) / 2**20:.0f} MiB; all.ics "
              f"{(out / 'feeds' / 'all.ics').stat().st_size / 1024:.1f} KiB; index.html "
              f"{(out / 'index.html').stat().st_size / 2**20:.1f} MiB")
        unit_path = "/feeds/units/" + sorted(p.name for p in (out / "feeds" / "units").glob(
            "*.ics"))[len(sizes) // 2]
        if not (shutil.which("wrk") and shutil.which("nginx")):
            print("wrk or nginx missing: apt-get install -y wrk nginx; skipping requests/s")
            return 0
        port = free_port()
        server = subprocess.Popen([PYTHON, "-c", SERVER, str(config), str(port)], cwd=ROOT,
                                  stdout=subprocess.PIPE, text=True)
        try:
            wait_ready(f"http://127.0.0.1:{port}{unit_path}")
            url = f"http://127.0.0.1:{port}{unit_path}"
            print(f"aiohttp (1 process), {unit_path}: {wrk(url, args.seconds)}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        port = free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX.format(tmp=tmp, port=port, root=out))
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"])
        try:
            wait_ready(f"http://127.0.0.1:{port}{unit_path}")
            url = f"http://127.0.0.1:{port}{unit_path}"
            print(f"nginx (2 workers), exported file: {wrk(url, args.seconds)}")
        finally:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

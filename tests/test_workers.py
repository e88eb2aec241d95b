"""Serving workers (`[web] workers`, issue 13 items 2 and 3) in the real daemon process.

Which worker answered is found the way `ss -tnp` finds it, with no help from the
daemon: the server end of our still-open connection is a socket inode in /proc/net/tcp,
and exactly one process holds that inode among its file descriptors.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from daemon_process import CALENDAR, DaemonProcess, write_deployment

QUIET_DAY = "2026-06-01T09:00:00+07:00"
WORKERS = 3
URLS = ("/feeds/all.ics", "/feeds/units/phong-a.ics", "/feeds/units/phong-b.ics",
        "/feeds/kinds/deadline.ics", "/", "/subscribe/units/phong-a")


def _deployment(tmp_path: Path, workers: int = WORKERS) -> Path:
    config = write_deployment(tmp_path)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('base_url = "http://lichnhac.test"\n',
                                   f'base_url = "http://lichnhac.test"\nworkers = {workers}\n'),
                      encoding="utf-8")
    return config


def _children(pid: int) -> set[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _server_end_owner(connection: http.client.HTTPConnection, candidates: set[int]) -> int:
    """The pid, among `candidates`, holding the server end of `connection`'s socket."""
    assert connection.sock is not None
    client_port = connection.sock.getsockname()[1]
    server_port = connection.sock.getpeername()[1]
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if int(local.rsplit(":", 1)[1], 16) == server_port \
                    and int(remote.rsplit(":", 1)[1], 16) == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    assert inodes, "the server end of the connection is not in /proc/net/tcp"
    owners = set()
    for pid in candidates:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    owners.add(pid)
            except OSError:
                continue
    assert len(owners) == 1, f"server end held by {owners or 'nobody'} of {candidates}"
    return owners.pop()


def _survey(daemon: DaemonProcess, rounds: int = 40, at_once: int = 12,
            ) -> dict[int, dict[str, tuple[int, str, str]]]:
    """Fetch every URL (plain and gzip) over many new connections held open together, until
    every worker has answered; per answering pid: URL → (status, ETag, body hash)."""
    host, port = daemon.base_url.removeprefix("http://").rsplit(":", 1)
    seen: dict[int, dict[str, tuple[int, str, str]]] = {}
    for _ in range(rounds):
        workers = _children(daemon.proc.pid)
        connections = [http.client.HTTPConnection(host, int(port), timeout=10)
                       for _ in range(at_once)]
        try:
            for connection in connections:
                connection.connect()
            for connection in connections:
                answers: dict[str, tuple[int, str, str]] = {}
                for url in URLS:
                    for encoding in ("identity", "gzip"):
                        connection.request("GET", url, headers={"Accept-Encoding": encoding})
                        response = connection.getresponse()
                        body = response.read()
                        if response.getheader("Content-Encoding") == "gzip":
                            body = gzip.decompress(body)
                        answers[f"{url} {encoding}"] = (
                            response.status, response.getheader("ETag") or "",
                            hashlib.sha256(body).hexdigest())
                pid = _server_end_owner(connection, workers | {daemon.proc.pid})
                assert pid != daemon.proc.pid, "the main process accepted a connection"
                seen.setdefault(pid, answers)
                assert seen[pid] == answers, f"worker {pid} answered differently over time"
        finally:
            for connection in connections:
                connection.close()
        if len(seen) >= WORKERS and set(seen) >= workers:
            break
    return seen


def _one_answer(seen: dict[int, dict[str, tuple[int, str, str]]]
                ) -> dict[str, tuple[int, str, str]]:
    answers = list(seen.values())
    for pid, other in seen.items():
        assert other == answers[0], f"worker {pid} serves other bytes or ETags"
    return answers[0]


@pytest.mark.slow
def test_every_worker_serves_the_same_bytes_and_etags(tmp_path: Path) -> None:
    with DaemonProcess(_deployment(tmp_path), env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        workers = _children(daemon.proc.pid)
        assert len(workers) == WORKERS
        seen = _survey(daemon)
        assert set(seen) == workers, f"answered: {sorted(seen)}; workers: {sorted(workers)}"
        answers = _one_answer(seen)
        for key, (status, etag, _) in answers.items():
            assert status == 200, key
            if key.startswith("/feeds/"):
                assert re.fullmatch(r'"[0-9a-f]{32}(-gzip)?"', etag), key
        # The bytes are the feeds the daemon built (the main process's own copy answers
        # the same through /healthz's numbers; here: the body a plain GET returns).
        plain = daemon.get("/feeds/all.ics")
        assert hashlib.sha256(plain.body).hexdigest() == answers["/feeds/all.ics identity"][2]
        health = json.loads(daemon.get("/healthz").body)
        assert health["web_workers"] == WORKERS and health["web_workers_serving"] == WORKERS
        assert daemon.stop() == 0
    assert "Traceback" not in daemon.stderr


@pytest.mark.slow
def test_after_a_reload_every_worker_serves_the_new_bytes(tmp_path: Path) -> None:
    config = _deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        ready = daemon.wait_ready()
        before = _one_answer(_survey(daemon))
        (tmp_path / "calendar.toml").write_text(
            CALENDAR.replace("Họp giao ban công tác", "Họp giao ban tháng sáu về"),
            encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        reloading = daemon.wait_message("RELOADING", after=ready)
        daemon.wait_message("READY", after=reloading)
        # READY=1 after the reload: no worker is left with the old bytes.
        seen = _survey(daemon)
        assert set(seen) == _children(daemon.proc.pid)
        after = _one_answer(seen)
        assert after["/feeds/all.ics identity"] != before["/feeds/all.ics identity"]
        assert after["/feeds/units/phong-a.ics gzip"] != before["/feeds/units/phong-a.ics gzip"]
        # phong-b has no event that changed: same bytes, same ETag.
        assert after["/feeds/units/phong-b.ics identity"] == \
            before["/feeds/units/phong-b.ics identity"]
        metrics = daemon.get("/metrics").body.decode()
        assert "lichnhac_feed_generation 2.0" in metrics
        assert daemon.stop() == 0


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_serves_the_same_feeds(tmp_path: Path) -> None:
    with DaemonProcess(_deployment(tmp_path), env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        before = _one_answer(_survey(daemon))
        workers = _children(daemon.proc.pid)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        daemon.wait_log(rf"worker \d \(pid {victim}\) exited with status 9 \(SIGKILL\)")
        daemon.wait_for(lambda: len(_children(daemon.proc.pid) - workers) == 1
                        and json.loads(daemon.get("/healthz").body)["web_workers_serving"]
                        == WORKERS, 30, "a replacement worker serving")
        now = _children(daemon.proc.pid)
        assert victim not in now and len(now) == WORKERS
        seen = _survey(daemon)
        assert set(seen) == now
        assert _one_answer(seen) == before
        assert "lichnhac_web_worker_restarts_total 1.0" in daemon.get("/metrics").body.decode()
        assert daemon.stop() == 0


@pytest.mark.slow
def test_sigterm_stops_every_worker_and_a_dead_main_process_takes_them_along(
        tmp_path: Path) -> None:
    config = _deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        workers = _children(daemon.proc.pid)
        assert len(workers) == WORKERS
        assert daemon.stop() == 0
        assert not [pid for pid in workers if _alive(pid)]
        assert "exited with status" not in daemon.stderr  # a stop is not a crash
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        workers = _children(daemon.proc.pid)
        daemon.proc.kill()  # no clean-up at all: the workers see their stdin close
        daemon.proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)]


def test_without_workers_the_main_process_serves_alone(tmp_path: Path) -> None:
    with DaemonProcess(_deployment(tmp_path, workers=0),
                       env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        assert _children(daemon.proc.pid) == set()
        assert daemon.get("/feeds/all.ics").status == 200
        assert "web_workers" not in json.loads(daemon.get("/healthz").body)
        assert daemon.stop() == 0


@pytest.mark.parametrize(("value", "expected"), [('"auto"', None), ("0", 0), ("3", 3)])
def test_workers_setting_is_auto_or_a_count(tmp_path: Path, value: str,
                                            expected: int | None) -> None:
    from scheduler.config import load_config

    config = _deployment(tmp_path)
    text = config.read_text(encoding="utf-8").replace(f"workers = {WORKERS}",
                                                      f"workers = {value}")
    config.write_text(text, encoding="utf-8")
    assert load_config(config).web.workers == expected


@pytest.mark.parametrize("value", ['"many"', "-1", "65", "true", "2.5"])
def test_a_bad_workers_setting_names_its_line(tmp_path: Path, value: str) -> None:
    from scheduler.config import load_config
    from scheduler.errors import ConfigError

    config = _deployment(tmp_path)
    text = config.read_text(encoding="utf-8").replace(f"workers = {WORKERS}",
                                                      f"workers = {value}")
    config.write_text(text, encoding="utf-8")
    line = text.splitlines().index(f"workers = {value}") + 1
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert any(f"config.toml:{line}:" in str(problem) and "workers" in str(problem)
               for problem in caught.value.problems), caught.value.problems

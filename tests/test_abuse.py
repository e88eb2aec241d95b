"""Abuse against the real daemon process (issue 14, item 5): idle sockets, slowloris
clients and malformed requests must not stop `/healthz` or the feeds from answering."""

from __future__ import annotations

import contextlib
import re
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_process import DaemonProcess, write_deployment

QUIET_DAY = "2026-06-01T09:00:00+07:00"
IDLE = 2000
SLOW = 500


@pytest.fixture(autouse=True)
def enough_file_descriptors() -> Iterator[None]:
    """This process holds 2,500 sockets; the daemon inherits the same limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if wanted < IDLE + SLOW + 200:
        pytest.fail(f"the hard RLIMIT_NOFILE ({hard}) is too low for this test")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _address(daemon: DaemonProcess) -> tuple[str, int]:
    host, port = daemon.base_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _timed_get(daemon: DaemonProcess, path: str) -> tuple[int, float]:
    started = time.monotonic()
    result = daemon.get(path)
    return result.status, time.monotonic() - started


def _open_many(address: tuple[str, int], count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(address)
        sockets.append(sock)
    return sockets


def _trickle(sockets: list[socket.socket], data: bytes) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):  # closed by the server: as it should be
            sock.send(data)


@pytest.mark.slow
def test_idle_and_slowloris_connections_do_not_stop_healthz_or_feeds(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        address = _address(daemon)
        idle = _open_many(address, IDLE)
        slow = _open_many(address, SLOW)
        try:
            time.sleep(2.0)  # the server accepts the whole flood meanwhile
            _trickle(slow, b"GET /feeds/all.ics HTTP/1.1\r\n")
            worst, times = 0.0, []
            for round_ in range(6):  # about 12 s: past the idle timeout
                _trickle(slow, f"X-Slow-{round_}: a\r\n".encode())
                for path in ("/healthz", "/feeds/units/phong-a.ics"):
                    status, took = _timed_get(daemon, path)
                    assert status == 200, path
                    worst = max(worst, took)
                    times.append(round(took, 3))
                time.sleep(2.0)
            print(f"slowest answer under {IDLE} idle + {SLOW} slow connections: "
                  f"{worst:.3f} s {times}")
            assert worst < 1.0
        finally:
            for sock in idle + slow:
                sock.close()
        # The flood is logged once when it starts, not per connection.
        flood_lines = [line for line in daemon.lines if "closing the oldest idle" in line]
        assert len(flood_lines) == 1, daemon.stderr[-3000:]
        assert "Traceback" not in daemon.stderr
        assert "Too many open files" not in daemon.stderr
        assert daemon.stop() == 0


def test_idle_connection_is_closed_by_the_server(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        with socket.create_connection(_address(daemon), timeout=40) as sock:
            sock.sendall(b"GET /feeds/all.ics HTTP/1.1\r\nHost: x\r\n")  # never finished
            started = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the server, not by our timeout
            assert time.monotonic() - started < 30
        assert daemon.stop() == 0


def _raw(daemon: DaemonProcess, request: bytes) -> bytes:
    with socket.create_connection(_address(daemon), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_request_is_a_warning_line_without_traceback(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        answer = _raw(daemon, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 400")
        answer = _raw(daemon, b"GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n")
        assert answer.startswith(b"HTTP/1.0 400")
        daemon.wait_log(r"malformed request", timeout=10)
        assert daemon.get("/healthz").status == 200
        assert "Traceback" not in daemon.stderr
        assert " ERROR " not in daemon.stderr and "error:" not in daemon.stderr.lower(), \
            daemon.stderr
        assert daemon.stop() == 0


def test_unknown_method_gets_405_like_the_others(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    with DaemonProcess(config, env={"LICHNHAC_NOW": QUIET_DAY}) as daemon:
        daemon.wait_ready()
        for path in ("/", "/healthz", "/feeds/all.ics"):
            # BREW is refused by aiohttp's parser itself (a 400 before this fix).
            for method in (b"BREW", b"PROPFIND", b"DELETE"):
                answer = _raw(daemon, method + b" " + path.encode() +
                              b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                assert re.match(rb"HTTP/1\.[01] 405 ", answer), (method, answer[:200])
                assert b"\r\nAllow: GET, HEAD, OPTIONS\r\n" in answer
        assert "Traceback" not in daemon.stderr
        assert daemon.stop() == 0

"""sd_notify over a real unix datagram socket, as systemd listens for it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.notify import Notifier, socket_address, watchdog_interval


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()


def receive(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


def test_ready_and_status_arrive_as_one_datagram(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier(path) as notifier:
        assert notifier.ready("next reminder 2026-06-03 08:00")
    assert receive(sock) == {"READY": "1", "STATUS": "next reminder 2026-06-03 08:00"}


def test_status_is_sent_only_when_it_changes(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier(path) as notifier:
        assert notifier.status("a")
        assert not notifier.status("a")
        assert notifier.status("b")
    assert receive(sock) == {"STATUS": "a"}
    assert receive(sock) == {"STATUS": "b"}


def test_reloading_carries_a_monotonic_timestamp(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier(path) as notifier:
        notifier.reloading()
    message = receive(sock)
    assert message["RELOADING"] == "1"
    assert int(message["MONOTONIC_USEC"]) > 0


def test_stopping_and_watchdog(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier(path) as notifier:
        notifier.stopping()
        notifier.watchdog()
    assert receive(sock) == {"STOPPING": "1"}
    assert receive(sock) == {"WATCHDOG": "1"}


def test_abstract_socket_named_with_at_sign() -> None:
    name = f"lichnhac-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(5)
    try:
        with Notifier.from_environ({"NOTIFY_SOCKET": "@" + name}) as notifier:
            assert notifier.ready()
        assert receive(sock) == {"READY": "1"}
    finally:
        sock.close()


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier.from_environ({})
    assert not notifier.enabled
    assert not notifier.ready()


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    with Notifier(str(tmp_path / "gone.sock")) as notifier:
        assert not notifier.ready()


def test_socket_address_forms() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@abc") == b"\0abc"


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, None),
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "60000000"}, 30.0),
    ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}, None),
    ({"WATCHDOG_USEC": "nonsense"}, None),
])
def test_watchdog_interval_is_half_of_watchdog_usec(environ: dict[str, str],
                                                    expected: float | None) -> None:
    assert watchdog_interval(environ, pid=4242) == expected


def test_watchdog_pid_of_this_process_enables_it() -> None:
    environ = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(environ) == 1.0


def test_extend_timeout_asks_for_more_start_up_time(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    with Notifier(path) as notifier:
        notifier.extend_timeout(60, "starting: catching up")
    assert receive(sock) == {"EXTEND_TIMEOUT_USEC": "60000000",
                             "STATUS": "starting: catching up"}

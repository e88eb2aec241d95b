"""Telling systemd how the daemon is doing: the sd_notify datagram protocol.

systemd hands a `Type=notify` service the path of a unix datagram socket in
`$NOTIFY_SOCKET` (a leading "@" means the Linux abstract namespace). Each datagram is
newline-separated `KEY=VALUE` lines: `READY=1`, `STATUS=...`, `RELOADING=1`,
`STOPPING=1`, `WATCHDOG=1`. With `WatchdogSec=` set, systemd also passes
`$WATCHDOG_USEC` (and `$WATCHDOG_PID`); we ping at half that interval.

Outside systemd (no `$NOTIFY_SOCKET`) every call is a no-op, so `lichnhac run` behaves
the same from a terminal.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)


def socket_address(value: str) -> str | bytes:
    """The address to send to: abstract sockets ("@name") become a leading NUL byte."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_interval(environ: Mapping[str, str], pid: int | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of `$WATCHDOG_USEC`), or None if off.

    `$WATCHDOG_PID`, when set, must name this process: a child started by us must not
    ping on our behalf.
    """
    raw = environ.get("WATCHDOG_USEC", "")
    if not raw.isdigit() or int(raw) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and owner.isdigit() and int(owner) != (pid if pid is not None else os.getpid()):
        return None
    return int(raw) / 1_000_000 / 2


class Notifier:
    """Sends sd_notify messages; silent when not run by systemd."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._sock: socket.socket | None = None
        self._last_status = ""
        if address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Notifier:
        return cls(environ.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, **fields: str | int) -> bool:
        """Send one datagram of `KEY=VALUE` lines; False (and a debug log) if it failed.

        A lost notification must never take the daemon down, so errors are swallowed.
        """
        if self._sock is None or self.address is None:
            return False
        payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        try:
            self._sock.sendto(payload, socket_address(self.address))
        except OSError as exc:
            log.debug("sd_notify to %s failed: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        if status is not None:
            self._last_status = status
            return self.send(READY=1, STATUS=status)
        return self.send(READY=1)

    def status(self, text: str) -> bool:
        """Update `systemctl status`'s Status: line (only when it changed)."""
        if text == self._last_status:
            return False
        self._last_status = text
        return self.send(STATUS=text)

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd (>= 253, Type=notify-reload) match the reload to us.
        return self.send(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(
            time.CLOCK_MONOTONIC) // 1000)

    def extend_timeout(self, seconds: float, status: str) -> bool:
        """Ask for `seconds` more before systemd's start-up timeout (a long catch-up)."""
        return self.send(EXTEND_TIMEOUT_USEC=int(seconds * 1_000_000), STATUS=status)

    def stopping(self) -> bool:
        return self.send(STOPPING=1)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG=1)

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

"""Logging for the daemon: one line per event on stderr, journald-friendly.

Under systemd (`$JOURNAL_STREAM` names our stderr) the journal stamps each line itself,
so we drop our own timestamp and prefix the syslog priority (`<4>`) that journald reads
as the entry's level. From a terminal each line carries the local time and the level.

Recipient addresses are personal data of civil servants: below debug level every
address in every line (ours, or one quoted in an SMTP server's refusal) is masked to
`tu***@example.gov.vn`; `--log-level debug` shows them whole.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}

# syslog priorities journald understands as a "<N>" line prefix (SyslogLevelPrefix=yes).
_SYSLOG_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
                    logging.CRITICAL: 2}

ROOT_LOGGER = "scheduler"
_ADDRESS = re.compile(r"([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


class _LineFormatter(logging.Formatter):
    """One event per line; addresses masked unless `show_addresses`."""

    show_addresses = False

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.show_addresses:
            text = _ADDRESS.sub(lambda m: mask_email(m.group(0)), text)
        # A traceback stays readable, but one event must not look like several to grep.
        return text.replace("\n", "\n    ")


class JournalFormatter(_LineFormatter):
    """`<6>message`: journald adds time, unit and pid itself."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _SYSLOG_PRIORITY.get(record.levelno, 6)
        return f"<{priority}>" + super().format(record)


class TerminalFormatter(_LineFormatter):
    """`2026-06-10 01:00:01 +0000 INFO message` for a person at a terminal: the server
    clock's time, with its UTC offset (times inside messages say their own zone)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S %z")


_installed: list[logging.Handler] = []


def under_journal(environ: Mapping[str, str], stream: TextIO) -> bool:
    """True when `$JOURNAL_STREAM` ("dev:inode") is the stream we write to.

    systemd sets it for the service; a child whose stderr was redirected keeps the
    variable but not the stream, so compare the device and inode as systemd advises.
    """
    value = environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        # No real descriptor (a test's StringIO): trust the variable.
        return True
    return stat.st_dev == int(device) and stat.st_ino == int(inode)


def setup_logging(level: str, environ: Mapping[str, str] | None = None,
                  stream: TextIO | None = None) -> logging.Handler:
    """Send lichnhac's loggers to stderr at `level`; returns the handler installed."""
    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalFormatter() if under_journal(environ, stream)
                         else TerminalFormatter())
    _installed[:] = [handler]
    for name in (ROOT_LOGGER, "apscheduler", "aiohttp"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False
    set_level(level)
    # Third parties speak only when something is wrong (APScheduler logs every job run).
    third_party = max(LEVELS[level], logging.WARNING)
    logging.getLogger("apscheduler").setLevel(third_party)
    logging.getLogger("aiohttp").setLevel(third_party)
    return handler


def set_level(level: str) -> None:
    """Change lichnhac's level at runtime (a reload may change [log] level)."""
    logging.getLogger(ROOT_LOGGER).setLevel(LEVELS[level])
    for handler in _installed:
        if isinstance(handler.formatter, _LineFormatter):
            handler.formatter.show_addresses = LEVELS[level] <= logging.DEBUG


def mask_email(address: str) -> str:
    """`tuphap@example.gov.vn` → `tu***@example.gov.vn`; the domain stays for debugging."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:2]}***@{domain}"


def addresses_for_log(addresses: Iterable[str], logger: logging.Logger) -> str:
    """Recipients for a log line: whole at debug level, masked otherwise."""
    shown = list(addresses)
    if not logger.isEnabledFor(logging.DEBUG):
        shown = [mask_email(a) for a in shown]
    return ", ".join(shown)

"""Log lines: journald form under systemd, timestamps at a terminal, masked addresses."""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile

import pytest

from scheduler.logs import addresses_for_log, mask_email, setup_logging, under_journal


@pytest.fixture(autouse=True)
def restore_loggers() -> object:
    names = ("scheduler", "apscheduler", "aiohttp")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in names}
    yield None
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_under_journal_prefixes_priority_and_drops_timestamps() -> None:
    stream = io.StringIO()
    setup_logging("info", {"JOURNAL_STREAM": "8:12345"}, stream)
    logging.getLogger("scheduler.daemon").warning("reload failed: config.toml:12: bad")
    logging.getLogger("scheduler.daemon").info("sent reminder x to y (3 items)")
    assert stream.getvalue().splitlines() == [
        "<4>reload failed: config.toml:12: bad",
        "<6>sent reminder x to y (3 items)",
    ]


def test_at_a_terminal_lines_carry_time_with_its_zone_and_level() -> None:
    stream = io.StringIO()
    setup_logging("info", {}, stream)
    logging.getLogger("scheduler.daemon").info("ready")
    line = stream.getvalue().rstrip("\n")
    date, clock, zone, level, message = line.split(" ", 4)
    assert len(date) == 10 and date[4] == "-" and len(clock) == 8
    assert re.fullmatch(r"[+-]\d{4}", zone), zone  # the server clock's offset, labelled
    assert (level, message) == ("INFO", "ready")


def test_level_filters_and_debug_is_hidden_at_info() -> None:
    stream = io.StringIO()
    setup_logging("warning", {"JOURNAL_STREAM": "1:1"}, stream)
    logger = logging.getLogger("scheduler.x")
    logger.info("quiet")
    logger.error("loud")
    assert stream.getvalue() == "<3>loud\n"


def test_a_multiline_message_stays_one_event() -> None:
    stream = io.StringIO()
    setup_logging("info", {"JOURNAL_STREAM": "1:1"}, stream)
    logging.getLogger("scheduler.x").error("first\nsecond")
    assert stream.getvalue() == "<3>first\n    second\n"


def test_journal_stream_must_name_our_own_stderr() -> None:
    with tempfile.TemporaryFile("w+") as real:
        stat = os.fstat(real.fileno())
        assert under_journal({"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"}, real)
        assert not under_journal({"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino + 1}"}, real)
        assert not under_journal({}, real)
        assert not under_journal({"JOURNAL_STREAM": "garbage"}, real)


def test_mask_email_keeps_the_domain() -> None:
    assert mask_email("tuphap@example.gov.vn") == "tu***@example.gov.vn"
    assert mask_email("a@b.vn") == "a***@b.vn"
    assert mask_email("not-an-address") == "***"


def test_addresses_are_whole_only_at_debug() -> None:
    logger = logging.getLogger("scheduler.mailtest")
    stream = io.StringIO()
    setup_logging("info", {}, stream)
    assert addresses_for_log(["tuphap@x.vn", "vp@x.vn"], logger) == "tu***@x.vn, vp***@x.vn"
    setup_logging("debug", {}, stream)
    assert addresses_for_log(["tuphap@x.vn"], logger) == "tuphap@x.vn"


def test_addresses_in_any_line_are_masked_below_debug() -> None:
    stream = io.StringIO()
    setup_logging("info", {"JOURNAL_STREAM": "1:1"}, stream)
    logger = logging.getLogger("scheduler.delivery")
    logger.error("failed reminder k to u: mx: 550 5.1.1 <tuphap@example.gov.vn>: unknown")
    assert stream.getvalue() == "<3>failed reminder k to u: mx: 550 5.1.1 " \
                                "<tu***@example.gov.vn>: unknown\n"


def test_debug_level_shows_addresses_whole() -> None:
    stream = io.StringIO()
    setup_logging("debug", {"JOURNAL_STREAM": "1:1"}, stream)
    logging.getLogger("scheduler.delivery").info("to tuphap@example.gov.vn")
    assert stream.getvalue() == "<6>to tuphap@example.gov.vn\n"

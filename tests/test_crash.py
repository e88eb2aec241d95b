"""Crash safety: a burst of 2,100 digests to a real SMTP server, the sending process
SIGKILLed at random points (three seeded trials), restarted until it finishes. Every digest
arrives; the only duplicates are messages in flight at a kill, and they carry the same
Message-ID as their first copy."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.smtp_helpers import Received, SmtpServer

ROOT = Path(__file__).resolve().parent.parent
UNITS = 2100
MAX_CONNECTIONS = 4  # at most this many messages on the wire at once


def _write_burst(directory: Path, port: int) -> Path:
    units = "".join(f'\n[[unit]]\nid = "don-vi-{n:04d}"\nname = "Đơn vị số {n}"\n'
                    f'email = ["dv{n:04d}@example.gov.vn"]\n' for n in range(UNITS))
    (directory / "cal.toml").write_text('''
[[event]]
id = "ngay-phu-nu-viet-nam"
title = "Ngày Phụ nữ Việt Nam"
kind = "observance"
date = "10-20"
units = ["all"]
lead_days = [0]
basis = "Ngày thành lập Hội Liên hiệp Phụ nữ Việt Nam 20/10/1930"
''', encoding="utf-8")
    path = directory / "config.toml"
    path.write_text(f'''
calendars = ["cal.toml"]
[state]
dir = "var"
[mail]
from = "Lịch nhắc <nhaclich@example.gov.vn>"
transport = "smtp"
[mail.smtp]
host = "127.0.0.1"
port = {port}
timeout_seconds = 10
max_connections = {MAX_CONNECTIONS}
max_per_second = 100000
{units}''', encoding="utf-8")
    return path


def _simulate(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(config),
                             "simulate", "--live", "--from", "2026-10-20", "--to", "2026-10-20"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_during_a_burst_loses_nothing_and_duplicates_only_in_flight(
        tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    kills = 0
    boundaries: list[int] = []  # messages received when each kill happened
    with SmtpServer() as server:
        config = _write_burst(tmp_path, server.port)
        deadline = time.monotonic() + 240
        while True:
            assert time.monotonic() < deadline, "the burst never finished"
            process = _simulate(config)
            target = server.count() + rng.randint(50, 900)
            finished = False
            while not finished:
                if process.poll() is not None:
                    finished = True
                elif server.count() >= target and kills < 3:
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)
                    process.communicate()
                    kills += 1
                    boundaries.append(server.count())
                    break
                else:
                    time.sleep(0.002)
            if finished:
                out, err = process.communicate(timeout=10)
                assert process.returncode == 0, err
                report = json.loads(out)
                break
        received = server.received

    print(f"seed {seed}: {kills} kill(s), {len(received)} messages, "
          f"{len(received) - UNITS} duplicate(s)")
    assert kills >= 1
    assert report["planned"] == UNITS
    assert report["sent"] + report["already_sent"] == UNITS
    assert report["failed"] == report["missed"] == 0
    ids_per_digest: dict[str, set[str]] = defaultdict(set)
    copies: dict[str, int] = defaultdict(int)
    for item in received:
        message = item.message()
        digest = str(message["X-Lichnhac-Digest"])
        ids_per_digest[digest].add(str(message["Message-ID"]))
        copies[digest] += 1
    assert len(ids_per_digest) == UNITS  # every digest delivered
    assert all(len(ids) == 1 for ids in ids_per_digest.values())  # a resend keeps its id
    duplicates = len(received) - UNITS
    # Only what was on the wire at a kill can go twice: a claim made ahead of sending is
    # not a duplicate, and every result is recorded as soon as it is known.
    per_kill = _duplicates_per_kill(received, boundaries)
    print(f"seed {seed}: duplicates per kill {per_kill}")
    assert sum(per_kill) == duplicates
    assert all(count <= MAX_CONNECTIONS for count in per_kill), per_kill
    assert max(copies.values()) <= 1 + kills


def _duplicates_per_kill(received: list[Received], boundaries: list[int]) -> list[int]:
    """For each kill, how many digests the run after it sent again (seen before the kill)."""
    seen: set[str] = set()
    counts = [0] * len(boundaries)
    run = -1  # the run before the first kill
    for index, item in enumerate(received):
        while run + 1 < len(boundaries) and index >= boundaries[run + 1]:
            run += 1
        digest = str(item.message()["X-Lichnhac-Digest"])
        if digest in seen and run >= 0:
            counts[run] += 1
        seen.add(digest)
    return counts

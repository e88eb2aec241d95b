"""Two real daemons sharing one store serve the same bytes: feeds (body and ETag) before
and after a config change applied to both, a token rotation made through one, and confirm
links signed by one verify on the other."""

from __future__ import annotations

import csv
import email
import io
import json
import re
import signal
import sqlite3
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from daemon_process import DaemonProcess, outbox_messages
from followup_helpers import CALENDAR, write_followup_deployment

from scheduler.config import load_config
from scheduler.followup.links import register_url
from scheduler.store.postgresql import PostgresqlStore

# Node A's clock: Fri 12/6/2026, after the 08:00 reminders (lead 7 of bao-cao-6-thang).
# Node B's clock is 7 minutes later: stamps must come from the store, not from B's clock.
NOW_A = "2026-06-12T09:00:00+07:00"
NOW_B = "2026-06-12T09:07:00+07:00"
FEEDS = ("all.ics", "kinds/deadline.ics", "kinds/observance.ics")
UNITS = ("phong-a", "phong-b", "phong-c", "phong-vhxh")
CONFIRM = re.compile(r"https?://[^/\s]+(/xac-nhan/[A-Za-z0-9_-]{44})")


def _node(directory: Path, shared: Path) -> Path:
    config = write_followup_deployment(directory)
    text = config.read_text(encoding="utf-8").replace('dir = "state"', f'dir = "{shared}"')
    text = text.replace('base_url = "http://lichnhac.test"',
                        'base_url = "http://lichnhac.test"\nprivate_feeds = true')
    config.write_text(text, encoding="utf-8")
    return config


def _tokens(shared: Path) -> dict[str, str]:
    db = sqlite3.connect(shared / "ledger.sqlite3")
    try:
        row = db.execute("SELECT body FROM document WHERE name = 'feed-tokens'").fetchone()
    finally:
        db.close()
    units: dict[str, str] = json.loads(row[0])["units"]
    return units


def _paths(shared: Path) -> list[str]:
    tokens = _tokens(shared)
    return [f"/feeds/{f}" for f in FEEDS] + [f"/feeds/{tokens[u]}/units/{u}.ics"
                                            for u in UNITS]


def _served(daemon: DaemonProcess, paths: list[str]) -> dict[str, tuple[bytes, str]]:
    found = {}
    for path in paths:
        result = daemon.get(path)
        assert result.status == 200, (path, result.status)
        found[path] = (result.body, result.headers["ETag"])
    return found


def _reload(daemon: DaemonProcess) -> None:
    before = len(daemon.messages)
    daemon.signal(signal.SIGHUP)
    reloading = daemon.wait_message("RELOADING", after=before, timeout=60)
    daemon.wait_message("READY", after=reloading, timeout=60)


def _sequence(body: bytes, uid_prefix: str) -> list[int]:
    """The SEQUENCE of every VEVENT whose UID starts with `uid_prefix`."""
    found = []
    for block in body.decode().split("BEGIN:VEVENT")[1:]:
        fields = dict(line.split(":", 1) for line in block.split("\r\n") if ":" in line)
        if fields["UID"].startswith(uid_prefix):
            found.append(int(fields["SEQUENCE"]))
    return found


def _confirm_paths(shared: Path, to: str = "") -> list[str]:
    """The confirm links of the emails in `shared`'s outbox (addressed to `to`...)."""
    found = []
    for path in outbox_messages(shared):
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        if not str(message["To"]).split("<")[-1].startswith(to):
            continue
        part = message.get_body(("plain",))
        assert part is not None
        found += CONFIRM.findall(part.get_content())
    return found


@pytest.mark.slow
def test_two_daemons_on_one_store_serve_the_same_bytes_tokens_and_links(
        tmp_path: Path) -> None:
    shared = tmp_path / "shared-state"
    config_a, config_b = _node(tmp_path / "a", shared), _node(tmp_path / "b", shared)
    with DaemonProcess(config_a, env={"LICHNHAC_NOW": NOW_A}) as a:
        a.wait_ready()
        a.wait_log(r"delivery: \d+ sent", timeout=60)
        links = _confirm_paths(shared)
        assert links, "node A sent no confirm link"
        with DaemonProcess(config_b, env={"LICHNHAC_NOW": NOW_B}) as b:
            b.wait_ready()
            paths = _paths(shared)
            before = _served(a, paths)
            assert _served(b, paths) == before

            # A confirm link signed by node A (in its email) verifies on node B.
            page = b.get(links[0])
            assert page.status == 200, page.status
            forged = links[0][:-4] + ("AAAA" if not links[0].endswith("AAAA") else "BBBB")
            assert b.get(forged).status == 403

            # The same config change on both nodes, B reloading first: one new SEQUENCE.
            changed = CALENDAR.replace("Ngày Gia đình Việt Nam",
                                       "Ngày Gia đình Việt Nam (28/6)")
            for node in ("a", "b"):
                (tmp_path / node / "calendar.toml").write_text(changed, encoding="utf-8")
            _reload(b)
            _reload(a)
            after = _served(a, paths)
            assert _served(b, paths) == after
            all_before, all_after = before["/feeds/all.ics"][0], after["/feeds/all.ics"][0]
            assert after["/feeds/all.ics"][1] != before["/feeds/all.ics"][1]
            assert set(_sequence(all_before, "ngay-gia-dinh")) == {0}
            assert set(_sequence(all_after, "ngay-gia-dinh")) == {1}
            assert set(_sequence(all_after, "bao-cao-6-thang")) == {0}

            # A token rotation requested through node A ...
            old = _tokens(shared)["phong-a"]
            (shared / "feed-tokens.rotate").write_text("phong-a\n", encoding="utf-8")
            _reload(a)
            new = _tokens(shared)["phong-a"]
            assert new != old and not (shared / "feed-tokens.rotate").exists()
            old_path, new_path = (f"/feeds/{t}/units/phong-a.ics" for t in (old, new))
            assert a.get(old_path).status == 410 and a.get(new_path).status == 200
            # ... reaches node B at its next reload.
            assert b.get(old_path).status == 200
            _reload(b)
            assert b.get(old_path).status == 410
            assert b.get(new_path).status == 200
            assert b.get(new_path).body == a.get(new_path).body
            assert b.get(new_path).headers["ETag"] == a.get(new_path).headers["ETag"]
            assert b.stop() == 0
        assert a.stop() == 0


def _confirmed_units(csv_bytes: bytes) -> set[str]:
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    return {row[3] for row in rows[1:] if row[6]}


@pytest.mark.slow
@pytest.mark.postgresql
def test_three_nodes_on_postgresql_serve_one_set_of_feeds_and_one_register(
        tmp_path: Path, pg_url: str) -> None:
    # Issue 10's acceptance on the real thing: three nodes, each with its own state dir,
    # sharing one PostgreSQL: the same feed URL gives the same body and ETag from each,
    # before and after a config change applied to all; a unit confirms through node A and
    # node B's register shows it.
    with PostgresqlStore(pg_url, owner="setup", check_schema=False) as setup:
        setup.upgrade()
    configs = []
    for name in ("a", "b", "c"):
        config = write_followup_deployment(tmp_path / name)
        text = config.read_text(encoding="utf-8").replace(
            'dir = "state"', f'dir = "state"\ndatabase = "{pg_url}"')
        config.write_text(text, encoding="utf-8")
        configs.append(config)
    paths = [f"/feeds/{f}" for f in FEEDS] + [f"/feeds/units/{u}.ics" for u in UNITS]
    with DaemonProcess(configs[0], env={"LICHNHAC_NOW": NOW_A}) as a:
        a.wait_ready()
        a.wait_log(r"delivery: \d+ sent", timeout=60)
        with DaemonProcess(configs[1], env={"LICHNHAC_NOW": NOW_B}) as b, \
                DaemonProcess(configs[2], env={"LICHNHAC_NOW": NOW_B}) as c:
            b.wait_ready()
            c.wait_ready()
            before = _served(a, paths)
            assert _served(b, paths) == before and _served(c, paths) == before

            # phong-b confirms through node A (the link from node A's email) ...
            link = _confirm_paths(tmp_path / "a" / "state", to="phongb@")[0]
            token = link.rsplit("/", 1)[1]
            answer = a.post(link, {"token": token, "action": "confirm"})
            assert answer.status == 200, answer.body
            # ... and node B's register (the coordinator's CSV) shows it.
            register = urlsplit(register_url(load_config(configs[1]), "phong-vhxh")).path
            csv_b = b.get(f"{register}/2026.csv")
            assert csv_b.status == 200
            assert _confirmed_units(csv_b.body) == {"phong-b"}
            assert c.get(f"{register}/2026.csv").body == csv_b.body

            # The same calendar change on every node, reloaded one by one.
            changed = CALENDAR.replace("Ngày Gia đình Việt Nam",
                                       "Ngày Gia đình Việt Nam (28/6)")
            for name in ("c", "a", "b"):
                (tmp_path / name / "calendar.toml").write_text(changed, encoding="utf-8")
            for node in (c, a, b):
                _reload(node)
            after = _served(a, paths)
            assert _served(b, paths) == after and _served(c, paths) == after
            assert after["/feeds/all.ics"][1] != before["/feeds/all.ics"][1]
            assert set(_sequence(after["/feeds/all.ics"][0], "ngay-gia-dinh")) == {1}
            assert c.stop() == 0 and b.stop() == 0
        assert a.stop() == 0

"""`lichnhac export --out DIR`: the served bytes and the index page as files."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from conftest import ROOT, run_cli
from feedtools import TODAY, copy_shipped, running
from test_web import request

from scheduler.config import load_config
from scheduler.feeds import build_feedset
from scheduler.web import WebState

NOW = {"LICHNHAC_NOW": "2026-11-22T09:30:00+07:00"}


def _export(config: Path, out: Path) -> str:
    result = run_cli("--config", str(config), "export", "--out", str(out), env=NOW)
    assert result.status == 0, result.stderr
    return result.stdout


def test_export_writes_the_served_bytes_and_the_index(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    out = tmp_path / "site"
    summary = _export(config_path, out)
    assert re.fullmatch(r"Đã xuất 28 tệp \(11 lịch đơn vị, 5 lịch chung, 11 trang đăng ký, "
                        r"index\.html; [\d.]+ [KM]B\) vào \S+ trong [\d.]+ s\n", summary), summary
    config = load_config(config_path)
    feeds = build_feedset(config, TODAY, config.state_dir,
                          now=datetime.fromisoformat(NOW["LICHNHAC_NOW"]))
    written = {str(p.relative_to(out / "feeds")) for p in (out / "feeds").rglob("*.ics")}
    assert written == set(feeds.feeds)
    state = WebState()
    state.set_feeds(feeds)
    with running(state, config) as server:
        for path in feeds.feeds:
            data = (out / "feeds" / path).read_bytes()
            assert data == feeds.feeds[path].body
            assert request(server, "GET", f"/feeds/{path}").body == data
            mtime = (out / "feeds" / path).stat().st_mtime
            assert mtime == feeds.feeds[path].last_modified.timestamp()
        # The emails' "Hướng dẫn" link: on an nginx-only site it was a 404.
        pages = sorted(str(p.relative_to(out)) for p in (out / "subscribe").rglob("*")
                       if p.is_file())
        assert pages == sorted(f"subscribe/units/{u.id}" for u in config.units)
        for page in pages:
            assert request(server, "GET", f"/{page}").body == (out / page).read_bytes()
    index = (out / "index.html").read_text(encoding="utf-8")
    for unit in config.units:
        assert f"/feeds/units/{unit.id}.ics" in index and unit.name in index
        assert f"/subscribe/units/{unit.id}" in index
    assert not list(out.rglob("*.tmp"))


def test_a_second_export_of_the_same_data_writes_the_same_bytes(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    _export(config_path, tmp_path / "one")
    _export(config_path, tmp_path / "two")
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*")
           if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*")
           if p.is_file()}
    assert one == two


def test_export_removes_feeds_of_units_no_longer_configured(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    out = tmp_path / "site"
    _export(config_path, out)
    assert (out / "feeds" / "units" / "mttq.ics").exists()
    text = config_path.read_text(encoding="utf-8")
    start = text.index('[[unit]]\nid = "mttq"')
    end = text.index("[[unit]]", start + 1)
    config_path.write_text(text[:start] + text[end:], encoding="utf-8")
    summary = _export(config_path, out)
    assert "10 lịch đơn vị" in summary
    assert not (out / "feeds" / "units" / "mttq.ics").exists()
    assert (out / "feeds" / "units" / "hoi-lhpn.ics").exists()


def test_private_export_uses_token_paths_and_keeps_tokens_off_the_index(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    config_path.write_text(config_path.read_text(encoding="utf-8").replace(
        "private_feeds = false", "private_feeds = true"), encoding="utf-8")
    out = tmp_path / "site"
    _export(config_path, out)
    unit_files = sorted((out / "feeds").glob("*/units/*.ics"))
    assert len(unit_files) == 11
    assert not (out / "feeds" / "units").exists()
    tokens = {p.parts[-3] for p in unit_files}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(token not in index for token in tokens)
    # Subscribe pages live under the same token as the feed, and nowhere else.
    pages = sorted((out / "subscribe").rglob("*"))
    assert {p.relative_to(out / "subscribe").parts[0] for p in pages if p.is_file()} == tokens
    assert not (out / "subscribe" / "units").exists()
    assert (out / "feeds" / "all.ics").exists()
    # Rotating one unit's token: its old directory goes, the others stay.
    old = next(p for p in unit_files if p.name == "mttq.ics")
    (tmp_path / "var" / "feed-tokens.rotate").write_text("mttq\n", encoding="utf-8")
    _export(config_path, out)
    assert not old.parent.parent.exists()
    assert len(list((out / "feeds").glob("*/units/mttq.ics"))) == 1
    assert all(p.exists() for p in unit_files if p.name != "mttq.ics")


def test_export_to_a_file_is_a_clear_error(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    target = tmp_path / "a-file"
    target.write_text("x", encoding="utf-8")
    result = run_cli("--config", str(config_path), "export", "--out", str(target), env=NOW)
    assert result.status == 1
    assert "không phải là thư mục" in result.stderr and "Traceback" not in result.stderr


def test_export_with_a_broken_config_names_the_problem(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    config_path.write_text(config_path.read_text(encoding="utf-8").replace(
        "refresh_hours = 6", "refresh_hours = 0"), encoding="utf-8")
    result = run_cli("--config", str(config_path), "export", "--out", str(tmp_path / "o"))
    assert result.status == 1 and "refresh_hours 0 phải trong khoảng 1..168" in result.stderr
    assert not (tmp_path / "o").exists()


def test_re_export_rewrites_only_the_feeds_that_changed(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    out = tmp_path / "site"
    _export(config_path, out)
    inodes = {p: p.stat().st_ino for p in (out / "feeds").rglob("*.ics")}
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace('name = "Trạm Y tế xã"', 'name = "Trạm Y tế xã Hòa An"'),
                           encoding="utf-8")
    _export(config_path, out)
    changed = {str(p.relative_to(out / "feeds")) for p, ino in inodes.items()
               if p.stat().st_ino != ino}
    # The unit's own feed (its name) and every feed whose events name it as responsible.
    assert "units/tram-y-te.ics" in changed
    assert "units/truong-thcs.ics" not in changed
    assert "Trạm Y tế xã Hòa An" in (out / "feeds/units/tram-y-te.ics").read_text("utf-8")


def _tree(root: Path) -> dict[str, bytes]:
    """Every file a web server with `root` as its root would serve, by URL path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _generations(out: Path) -> list[str]:
    return sorted(p.name for p in (out.parent / f".{out.name}.generations").iterdir())


def test_a_failed_export_keeps_serving_the_previous_generation(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    out = tmp_path / "site"
    _export(config_path, out)
    before = _tree(out)
    served = os.readlink(out)
    # A long description on an event every unit gets: each unit feed grows past the limit.
    calendar = tmp_path / "calendars" / "xa-hoa-an-2026.toml"
    calendar.write_text(calendar.read_text(encoding="utf-8").replace(
        'description = "Mỗi đơn vị gửi kế hoạch hưởng ứng của mình về Phòng Văn hóa – Xã hội."',
        'description = "' + "Mỗi đơn vị gửi kế hoạch hưởng ứng. " * 4000 + '"'),
        encoding="utf-8")
    # The store learns the new revisions from an export elsewhere, so the failing export
    # below reads it without writing, and fails writing its generation.
    _export(config_path, tmp_path / "elsewhere")
    limit = 128_000
    assert max(p.stat().st_size for p in (tmp_path / "var").iterdir()) < limit
    assert min(p.stat().st_size for p in (tmp_path / "elsewhere" / "feeds" / "units").iterdir()) \
        > limit

    def small_files() -> None:  # the disk fills up: any file over 128 kB fails with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config_path),
                           "export", "--out", str(out)], cwd=ROOT, env={**os.environ, **NOW},
                          capture_output=True, text=True, timeout=120, preexec_fn=small_files,
                          check=False)
    assert done.returncode == 1 and "không ghi được" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert os.readlink(out) == served and _tree(out) == before
    assert _generations(out) == [".lock", Path(served).name]  # the partial one is gone
    assert not list(tmp_path.rglob("*.tmp"))


def test_re_export_of_unchanged_data_keeps_every_inode_and_mtime(tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    out = tmp_path / "site"
    _export(config_path, out)
    first = os.readlink(out)
    stats = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    _export(config_path, out)
    assert os.readlink(out) != first  # a new generation ...
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*")
            if p.is_file()} == stats  # ... of the same files: nginx's ETags do not change
    _export(config_path, out)
    assert len(_generations(out)) == 3  # the lock, the current and the previous generation


def test_a_plain_directory_from_an_earlier_version_becomes_the_previous_generation(
        tmp_path: Path) -> None:
    config_path = copy_shipped(tmp_path)
    reference = tmp_path / "reference"
    _export(config_path, reference)
    out = tmp_path / "site"
    shutil.copytree(reference, out, symlinks=False)  # what the old export left: real files
    (out / "feeds" / "units" / "removed-unit.ics").write_text("BEGIN:VCALENDAR\n")
    inode = (out / "feeds" / "all.ics").stat().st_ino
    _export(config_path, out)
    assert out.is_symlink()
    assert _tree(out) == _tree(reference)  # the stale feed is not served any more
    assert (out / "feeds" / "all.ics").stat().st_ino == inode  # linked, not rewritten
    assert any(name.startswith("plain-") for name in _generations(out))
    _export(config_path, out)
    assert not any(name.startswith("plain-") for name in _generations(out))
    assert _tree(out) == _tree(reference)

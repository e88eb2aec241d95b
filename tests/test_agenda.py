"""`lichnhac agenda`: the JSON contract and the table, on the shipped config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import SHIPPED_CONFIG, Result

NATIONAL_2026 = {
    ("ngay-quoc-te-phu-nu", "2026-03-08", "2026-03-08", "observance"),
    ("ngay-quoc-te-hanh-phuc", "2026-03-20", "2026-03-20", "observance"),
    ("thang-hanh-dong-vi-tre-em", "2026-06-01", "2026-06-30", "campaign"),
    ("thang-hanh-dong-phong-chong-bao-luc-gia-dinh", "2026-06-01", "2026-06-30", "campaign"),
    ("bao-cao-6-thang", "2026-06-10", "2026-06-10", "deadline"),
    ("ngay-gia-dinh-viet-nam", "2026-06-28", "2026-06-28", "observance"),
    ("ngay-toan-dan-phong-chong-mua-ban-nguoi", "2026-07-30", "2026-07-30", "observance"),
    ("ngay-quoc-te-tre-em-gai", "2026-10-11", "2026-10-11", "observance"),
    ("ngay-phu-nu-viet-nam", "2026-10-20", "2026-10-20", "observance"),
    ("thang-hanh-dong-binh-dang-gioi", "2026-11-15", "2026-12-15", "campaign"),
    ("ngay-quoc-te-xoa-bo-bao-luc-doi-voi-phu-nu", "2026-11-25", "2026-11-25", "observance"),
    ("bao-cao-nam", "2026-12-10", "2026-12-10", "deadline"),
}


def test_agenda_json_lists_the_national_year(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(SHIPPED_CONFIG), "agenda", "--from", "2026-01-01",
                 "--to", "2026-12-31", "--format", "json")
    assert result.status == 0, result.stderr
    items = result.json()
    assert isinstance(items, list)
    found = {(i["event"], i["start"], i["end"], i["kind"]) for i in items}
    assert found >= NATIONAL_2026
    assert [i["start"] for i in items] == sorted(i["start"] for i in items)
    all_units = [
        "phong-van-hoa-xa-hoi", "van-phong-hdnd-ubnd", "phong-kinh-te", "tram-y-te",
        "cong-an-xa", "truong-mam-non", "truong-tieu-hoc", "truong-thcs", "hoi-lhpn", "mttq",
        "doan-thanh-nien"]
    for item in items:
        assert set(item) == {"event", "title", "kind", "start", "end", "units", "source"}
        if item["event"] in {e for e, *_ in NATIONAL_2026}:
            assert item["units"] == all_units
            assert item["source"].endswith("national.toml:" + item["source"].rsplit(":")[-1])
            assert int(item["source"].rsplit(":", 1)[1]) > 0


def test_agenda_source_points_at_the_event_line(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(SHIPPED_CONFIG), "agenda", "--from", "2026-06-10",
                 "--to", "2026-06-10", "--format", "json")
    item = next(i for i in result.json() if i["event"] == "bao-cao-6-thang")  # type: ignore[union-attr]
    path, line = item["source"].rsplit(":", 1)
    text = (Path(SHIPPED_CONFIG).parent / path).read_text(encoding="utf-8").splitlines()
    assert text[int(line) - 1] == "[[event]]"
    assert text[int(line)] == 'id = "bao-cao-6-thang"'


def test_agenda_unit_filter_uses_groups(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(SHIPPED_CONFIG), "agenda", "--from", "2026-01-01",
                 "--to", "2026-12-31", "--unit", "truong-thcs", "--format", "json")
    events = {i["event"] for i in result.json()}  # type: ignore[union-attr]
    assert "truyen-thong-binh-dang-gioi" in events  # via the "schools" group
    assert "so-ket-6-thang" not in events  # offices only
    assert "tin-bai-hang-quy" not in events


def test_agenda_table_is_vietnamese(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(SHIPPED_CONFIG), "agenda", "--from", "2026-11-01",
                 "--to", "2026-11-30")
    assert result.status == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Ngày", "Thứ", "Loại", "Sự", "kiện", "Đơn", "vị"]
    row = next(line for line in lines if "Tháng hành động vì bình đẳng giới và" in line)
    assert row.startswith("15/11/2026 – 15/12/2026  Chủ nhật")


def test_agenda_default_window_starts_today(cli: Callable[..., Result]) -> None:
    result = cli("--config", str(SHIPPED_CONFIG), "agenda", "--format", "json",
                 env={"LICHNHAC_NOW": "2026-10-12T09:00:00+07:00"})
    starts = [i["start"] for i in result.json()]  # type: ignore[union-attr]
    assert starts[0] == "2026-10-20"
    assert max(starts) <= "2027-10-11"


def test_agenda_with_only_a_calendar_file_needs_no_config(
        tmp_path: Path, write: Callable[[str, str], Path], cli: Callable[..., Result]) -> None:
    write("draft.toml", """
        [[unit]]
        id = "phong-tu-phap"
        name = "Phòng Tư pháp"

        [[event]]
        id = "tap-huan"
        title = "Tập huấn"
        kind = "activity"
        date = "2026-05-05"
        units = ["phong-tu-phap"]
    """)
    result = cli("agenda", "--calendar", "draft.toml", "--from", "2026-01-01", "--to",
                 "2026-12-31", "--format", "json", cwd=tmp_path)
    assert result.status == 0, result.stderr
    assert [(i["event"], i["units"], i["source"]) for i in result.json()] == [  # type: ignore[union-attr]
        ("tap-huan", ["phong-tu-phap"], "draft.toml:5")]


def test_usage_errors_exit_2(cli: Callable[..., Result]) -> None:
    bad_date = cli("--config", str(SHIPPED_CONFIG), "agenda", "--from", "2026-13-01")
    assert bad_date.status == 2
    assert "'2026-13-01' không phải ngày: cần YYYY-MM-DD" in bad_date.stderr
    backwards = cli("--config", str(SHIPPED_CONFIG), "agenda", "--from", "2026-05-01",
                    "--to", "2026-04-01")
    assert backwards.status == 2
    assert "lichnhac: lỗi: --to 2026-04-01 đứng trước --from 2026-05-01" in backwards.stderr
    in_english = cli("--config", str(SHIPPED_CONFIG), "agenda", "--from", "2026-05-01",
                     "--to", "2026-04-01", env={"LANGUAGE": "en"})
    assert in_english.status == 2
    assert "lichnhac: error: --to 2026-04-01 is before --from 2026-05-01" in in_english.stderr
    unknown = cli("--config", str(SHIPPED_CONFIG), "agenda", "--unit", "nobody")
    assert unknown.status == 2
    assert "Traceback" not in unknown.stderr

"""`lichnhac import` on real plans: each draft checks, and its agenda is the plan's items.

The plans are copies of ../shared/plans (fixtures/plans), a 2026 commune plan written
after the reform in another style and stored NFD (xa-hoa-an-2026-nfd.txt), a .docx made
here with python-docx and a PDF printed here by headless chromium. Every expected item
must appear, and no date that is not a plan item may.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, SHIPPED_CONFIG, Result

PLANS = FIXTURES / "plans"
BTDG = "thang-hanh-dong-binh-dang-gioi"

# file → (plan year, {(national event id or None, start, end, kind)})
EXPECTED: dict[str, tuple[int, set[tuple[str | None, str, str, str]]]] = {
    "huyen-ky-anh-2023-tin.txt": (2023, {
        (BTDG, "2023-11-15", "2023-12-15", "campaign"),
    }),
    "huyen-tho-xuan-2024.md": (2024, {
        ("bao-cao-6-thang", "2024-06-10", "2024-06-10", "deadline"),
        (BTDG, "2024-11-15", "2024-12-15", "campaign"),
        ("bao-cao-nam", "2024-12-10", "2024-12-10", "deadline"),
    }),
    "huyen-trieu-son-2021.txt": (2021, {
        (BTDG, "2021-11-15", "2021-12-15", "campaign"),
    }),
    "phuong-nguyen-nghiem-2024.txt": (2024, {
        ("thang-hanh-dong-phong-chong-bao-luc-gia-dinh", "2024-06-01", "2024-06-30", "campaign"),
        (BTDG, "2024-11-15", "2024-12-15", "campaign"),
    }),
    "so-noi-vu-2026-bang.md": (2026, {
        (None, "2026-01-01", "2026-03-31", "activity"),  # hội nghị triển khai, Quý I/2026
        ("ngay-quoc-te-phu-nu", "2026-03-08", "2026-03-08", "observance"),
        (None, "2026-03-15", "2026-03-15", "deadline"),  # số liệu thống kê giới, hằng quý
        (None, "2026-05-01", "2026-05-31", "activity"),  # tập huấn, Tháng 5/2026
        ("thang-hanh-dong-phong-chong-bao-luc-gia-dinh", "2026-06-01", "2026-06-30", "campaign"),
        ("bao-cao-6-thang", "2026-06-10", "2026-06-10", "deadline"),
        (None, "2026-06-15", "2026-06-15", "deadline"),
        (None, "2026-08-01", "2026-10-31", "activity"),  # kiểm tra liên ngành
        (None, "2026-09-15", "2026-09-15", "activity"),  # đối thoại chính sách
        (None, "2026-09-15", "2026-09-15", "deadline"),
        ("ngay-phu-nu-viet-nam", "2026-10-20", "2026-10-20", "observance"),
        (BTDG, "2026-11-15", "2026-12-15", "campaign"),
        (None, "2026-12-05", "2026-12-05", "deadline"),  # báo cáo năm
        (None, "2026-12-15", "2026-12-15", "deadline"),
    }),
    "xa-binh-minh-2025-thang-hanh-dong.txt": (2025, {
        (None, "2025-11-10", "2025-12-15", "activity"),  # treo băng rôn
        (None, "2025-11-14", "2025-11-14", "activity"),  # lễ phát động
        (BTDG, "2025-11-15", "2025-12-15", "campaign"),
        ("ngay-quoc-te-xoa-bo-bao-luc-doi-voi-phu-nu", "2025-11-25", "2025-11-25", "observance"),
        (None, "2025-11-30", "2025-11-30", "deadline"),  # kiểm tra, "Thời gian hoàn thành"
        (None, "2025-12-20", "2025-12-20", "deadline"),  # báo cáo kết quả
    }),
    "huyen-quang-dien-2025.txt": (2025, {
        ("ngay-quoc-te-phu-nu", "2025-03-08", "2025-03-08", "observance"),  # before signing
        ("ngay-gia-dinh-viet-nam", "2025-06-28", "2025-06-28", "observance"),
        (None, "2025-04-01", "2025-06-30", "activity"),  # tập huấn, quý II/2025
        (None, "2025-06-15", "2025-06-15", "deadline"),  # báo cáo định kỳ 6 tháng
        (BTDG, "2025-11-15", "2025-12-15", "campaign"),
        (None, "2025-12-01", "2025-12-31", "activity"),  # tổng kết, tháng 12/2025
        (None, "2025-12-15", "2025-12-15", "deadline"),  # báo cáo năm
    }),
    "xa-dong-hai-2026-bang.md": (2026, {
        ("ngay-quoc-te-phu-nu", "2026-03-08", "2026-03-08", "observance"),
        (None, "2026-07-01", "2026-09-30", "activity"),  # cuộc thi, Quý III/2026
        (None, "2026-10-01", "2026-11-30", "activity"),  # tập huấn, Tháng 10-11/2026
        (None, "2026-11-01", "2026-11-01", "deadline"),  # kế hoạch hưởng ứng, Trước 01/11
        (None, "2026-12-10", "2026-12-10", "deadline"),  # báo cáo kết quả
    }),
    "xa-hoa-an-2026-nfd.txt": (2026, {
        ("ngay-quoc-te-phu-nu", "2026-03-08", "2026-03-08", "observance"),
        ("ngay-quoc-te-hanh-phuc", "2026-03-20", "2026-03-20", "observance"),
        (None, "2026-03-20", "2026-03-20", "deadline"),  # quarterly report, Q1
        ("thang-hanh-dong-vi-tre-em", "2026-06-01", "2026-06-30", "campaign"),
        ("thang-hanh-dong-phong-chong-bao-luc-gia-dinh", "2026-06-01", "2026-06-30", "campaign"),
        ("bao-cao-6-thang", "2026-06-10", "2026-06-10", "deadline"),
        (None, "2026-06-20", "2026-06-20", "deadline"),
        ("ngay-gia-dinh-viet-nam", "2026-06-28", "2026-06-28", "observance"),
        (None, "2026-06-30", "2026-06-30", "deadline"),  # báo cáo sơ kết chương trình
        (None, "2026-07-01", "2026-07-31", "activity"),  # tập huấn, tháng 7/2026
        ("ngay-toan-dan-phong-chong-mua-ban-nguoi", "2026-07-30", "2026-07-30", "observance"),
        (None, "2026-09-20", "2026-09-20", "deadline"),
        ("ngay-quoc-te-tre-em-gai", "2026-10-11", "2026-10-11", "observance"),
        ("ngay-phu-nu-viet-nam", "2026-10-20", "2026-10-20", "observance"),
        (None, "2026-11-05", "2026-11-05", "deadline"),  # ban hành kế hoạch hưởng ứng
        (BTDG, "2026-11-15", "2026-12-15", "campaign"),
        ("ngay-quoc-te-xoa-bo-bao-luc-doi-voi-phu-nu", "2026-11-25", "2026-11-25", "observance"),
        (None, "2026-12-05", "2026-12-05", "activity"),  # hội nghị tổng kết
        ("bao-cao-nam", "2026-12-10", "2026-12-10", "deadline"),
        (None, "2026-12-20", "2026-12-20", "deadline"),
    }),
}


def _import(cli: Callable[..., Result], plan: Path, out: Path, *extra: str,
            cwd: Path | None = None) -> dict[str, object]:
    result = cli(*extra, "import", str(plan), "--out", str(out), cwd=cwd)
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stderr
    with out.open("rb") as handle:
        return tomllib.load(handle)


def _agenda(cli: Callable[..., Result], draft: Path, year: int, cwd: Path,
            *extra: str) -> list[dict[str, object]]:
    result = cli(*extra, "agenda", "--calendar", str(draft), "--from", f"{year}-01-01",
                 "--to", f"{year}-12-31", "--format", "json", cwd=cwd)
    assert result.status == 0, result.stderr
    items = result.json()
    assert isinstance(items, list)
    return items


def _assert_items(items: list[dict[str, object]], expected: set[tuple[str | None, str, str, str]],
                  ) -> None:
    found = [(str(i["event"]), str(i["start"]), str(i["end"]), str(i["kind"])) for i in items]
    for event_id, start, end, kind in expected:
        hits = [f for f in found if f[1:] == (start, end, kind)
                and (event_id is None or f[0] == event_id)]
        assert hits, f"missing plan item {event_id or kind} {start}..{end}; drafted: {found}"
    for item in found:
        allowed = [e for e in expected if e[1:] == item[1:] and e[0] in (None, item[0])]
        assert allowed, f"{item} is not an item of the plan"
    assert len(found) == len(expected)


def _check_with_config(cli: Callable[..., Result], draft: Path, tmp_path: Path) -> Result:
    config = tmp_path / "lichnhac.toml"
    config.write_text(f'calendars = ["{draft.name}"]\n', encoding="utf-8")
    result = cli("--config", str(config), "check", cwd=tmp_path)
    assert result.status == 0, result.stderr
    return result


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_plan_drafts_its_items(cli: Callable[..., Result], tmp_path: Path,
                                    name: str) -> None:
    year, expected = EXPECTED[name]
    draft_path = tmp_path / "draft.toml"
    draft = _import(cli, PLANS / name, draft_path, cwd=tmp_path)
    _check_with_config(cli, draft_path, tmp_path)
    _assert_items(_agenda(cli, draft_path, year, tmp_path), expected)
    # Self-contained: every unit an event names is defined in the draft itself.
    defined = {u["id"] for u in draft.get("unit", [])}  # type: ignore[attr-defined]
    for event in draft["event"]:  # type: ignore[attr-defined]
        for ref in [*event["units"], *([event["report_to"]] if "report_to" in event else [])]:
            assert ref == "all" or ref in defined, (event["id"], ref)
    # With another deployment's config the draft still lists the same items.
    _assert_items(_agenda(cli, draft_path, year, tmp_path, "--config", str(SHIPPED_CONFIG)),
                  expected)


def test_every_event_carries_its_source_line_and_sentence(cli: Callable[..., Result],
                                                          tmp_path: Path) -> None:
    plan = PLANS / "huyen-tho-xuan-2024.md"
    out = tmp_path / "draft.toml"
    _import(cli, plan, out)
    text = out.read_text(encoding="utf-8").splitlines()
    source_lines = plan.read_text(encoding="utf-8").splitlines()
    events = [i for i, line in enumerate(text) if line == "[[event]]"]
    assert events
    for index in events:
        comments = []
        back = index - 1
        while back >= 0 and text[back].startswith("#"):
            comments.insert(0, text[back])
            back -= 1
        source = next(c for c in comments if c.startswith("# Nguồn: "))
        file, line = source.removeprefix("# Nguồn: ").rsplit(":", 1)
        assert file.endswith("huyen-tho-xuan-2024.md")
        assert any(c.startswith("# Trích: “") for c in comments)
        dated = re.search(r"\d{1,2}/\d{1,2}", source_lines[int(line) - 1])
        assert dated, f"line {line} of the plan has no date: {source_lines[int(line) - 1]!r}"
    assert 'report_to = "phong-lao-dong-thuong-binh-va-xa-hoi"' in text
    assert '# Trích: “- Báo cáo 06 tháng: Trước ngày 10/6/2024”' in text


def test_basis_is_the_plans_number_and_date(cli: Callable[..., Result], tmp_path: Path) -> None:
    expected = {
        "phuong-nguyen-nghiem-2024.txt":
            "Kế hoạch số 45/KH-UBND ngày 22/4/2024 của Ủy ban nhân dân Phường Nguyễn Nghiêm",
        "huyen-ky-anh-2023-tin.txt": "Kế hoạch số 573/KH-UBND ngày 18/4/2023 của UBND Huyện Kỳ Anh",
        "xa-hoa-an-2026-nfd.txt":
            "Kế hoạch số 12/KH-UBND ngày 5/1/2026 của Ủy ban nhân dân xã Hòa An",
        "huyen-quang-dien-2025.txt":
            "Kế hoạch số 98/KH-UBND ngày 12/3/2025 của Ủy ban nhân dân huyện Quảng Điền",
    }
    for name, basis in expected.items():
        draft = _import(cli, PLANS / name, tmp_path / f"{name}.toml")
        assert {e["basis"] for e in draft["event"]} == {basis}  # type: ignore[attr-defined]


def test_units_come_from_the_organisation_section(cli: Callable[..., Result],
                                                  tmp_path: Path) -> None:
    draft = _import(cli, PLANS / "huyen-trieu-son-2021.txt", tmp_path / "d.toml")
    units = {u["id"]: u for u in draft["unit"]}  # type: ignore[attr-defined]
    assert {"phong-tai-chinh-ke-hoach", "phong-noi-vu", "phong-giao-duc-va-dao-tao",
            "phong-van-hoa-thong-tin", "phong-y-te", "uy-ban-mat-tran-to-quoc-viet-nam-huyen",
            "hoi-lien-hiep-phu-nu-huyen", "ubnd-cac-xa-thi-tran",
            "phong-lao-dong-thuong-binh-va-xa-hoi"} <= set(units)
    assert all(u["email"] == [] for u in units.values())
    coordinator = units["phong-lao-dong-thuong-binh-va-xa-hoi"]
    assert coordinator["aliases"] == ["Cơ quan Thường trực Ban Vì sự tiến bộ của phụ nữ huyện"]
    # Superiors (b/c), leaders and the archive of "Nơi nhận" are not units.
    assert not any("so-lao-dong" in uid or uid.startswith("luu") for uid in units)


def test_units_in_a_section_own_its_events(cli: Callable[..., Result], tmp_path: Path) -> None:
    draft = _import(cli, PLANS / "phuong-nguyen-nghiem-2024.txt", tmp_path / "d.toml")
    events = {e["id"]: e for e in draft["event"]}  # type: ignore[attr-defined]
    assert events["thang-hanh-dong-phong-chong-bao-luc-gia-dinh"]["units"] == [
        "can-bo-van-hoa-thong-tin", "dai-truyen-thanh-phuong"]
    assert events[BTDG]["units"] == ["all"]


def test_old_unit_names_map_to_configured_units(cli: Callable[..., Result],
                                                tmp_path: Path) -> None:
    draft = _import(cli, PLANS / "huyen-tho-xuan-2024.md", tmp_path / "d.toml",
                    "--config", str(SHIPPED_CONFIG))
    units = {u["id"]: u for u in draft["unit"]}  # type: ignore[attr-defined]
    # "Phòng Lao động - Thương binh và Xã hội" is an alias of today's Culture-Society office.
    assert "phong-lao-dong-thuong-binh-va-xa-hoi" not in units
    assert units["phong-van-hoa-xa-hoi"]["aliases"] == ["Phòng Lao động - Thương binh và Xã hội"]
    assert {"cong-an-xa", "hoi-lhpn", "mttq", "truong-thcs"} <= set(units)
    deadlines = [e for e in draft["event"] if e["kind"] == "deadline"]  # type: ignore[attr-defined]
    assert deadlines and all(e["report_to"] == "phong-van-hoa-xa-hoi" for e in deadlines)
    _check_with_config(cli, tmp_path / "d.toml", tmp_path)


def test_json_format_carries_sources(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("import", str(PLANS / "xa-hoa-an-2026-nfd.txt"), "--format", "json",
                 cwd=tmp_path)
    assert result.status == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["plans"][0]["number"] == "12/KH-UBND"
    assert data["plans"][0]["date"] == "2026-01-05"
    quarterly = next(e for e in data["events"] if "rrule" in e)
    assert quarterly["rrule"] == "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=20"
    assert quarterly["start"] == "2026-01-01"
    assert quarterly["report_to"] == "phong-van-hoa-xa-hoi"
    for event in data["events"]:
        source = event["source"]
        assert source["file"].endswith("xa-hoa-an-2026-nfd.txt") and source["line"] > 0
        assert source["quote"] and source["quote"] == source["quote"].strip()


def _docx_from_plan(plan: Path, out: Path) -> None:
    import docx

    document = docx.Document()
    for line in plan.read_text(encoding="utf-8").splitlines():
        if line.strip():
            document.add_paragraph(line.strip())
    document.save(str(out))


def test_docx_of_a_plan_drafts_the_same_items(cli: Callable[..., Result],
                                              tmp_path: Path) -> None:
    name = "phuong-nguyen-nghiem-2024.txt"
    source = tmp_path / "ke-hoach.docx"
    _docx_from_plan(PLANS / name, source)
    draft_path = tmp_path / "draft.toml"
    draft = _import(cli, source, draft_path, cwd=tmp_path)
    year, expected = EXPECTED[name]
    _check_with_config(cli, draft_path, tmp_path)
    _assert_items(_agenda(cli, draft_path, year, tmp_path), expected)
    assert len(draft["unit"]) >= 10  # type: ignore[arg-type]
    # In a .docx, "line" N is the N-th Word paragraph.
    paragraphs = [line.strip() for line in (PLANS / name).read_text(encoding="utf-8")
                  .splitlines() if line.strip()]
    campaign = next(e for e in draft["event"] if e["id"] == BTDG)  # type: ignore[attr-defined]
    line = int(draft_path.read_text(encoding="utf-8").split(f'id = "{BTDG}"')[0]
               .rsplit("# Nguồn: ", 1)[1].split("\n")[0].rsplit(":", 1)[1])
    assert "15/11" in paragraphs[line - 1] and campaign["kind"] == "campaign"


@pytest.mark.parametrize("name", ["huyen-tho-xuan-2024.md", "xa-hoa-an-2026-nfd.txt",
                                  "phuong-nguyen-nghiem-2024.txt"])
def test_pdf_with_a_text_layer_drafts_the_same_items(cli: Callable[..., Result],
                                                     tmp_path: Path, name: str) -> None:
    """Printed by headless chromium: no blank lines, lines wrapped at the page width."""
    import html

    lines = (PLANS / name).read_text(encoding="utf-8").splitlines()
    page = tmp_path / "plan.html"
    page.write_text('<html><head><meta charset="utf-8"></head><body>'
                    + "".join(f"<p>{html.escape(line.lstrip('#').strip())}</p>"
                              for line in lines if line.strip())
                    + "</body></html>", encoding="utf-8")
    pdf = tmp_path / "plan.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'chromium'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    draft_path = tmp_path / "draft.toml"
    _import(cli, pdf, draft_path, cwd=tmp_path)
    year, expected = EXPECTED[name]
    _assert_items(_agenda(cli, draft_path, year, tmp_path), expected)


def test_several_plans_make_one_draft(cli: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "all.toml"
    result = cli("import", *(str(PLANS / n) for n in sorted(EXPECTED)), "--out", str(out),
                 cwd=tmp_path)
    assert result.status == 0, result.stderr
    with out.open("rb") as handle:
        draft = tomllib.load(handle)
    ids = [e["id"] for e in draft["event"]]
    assert len(ids) == len(set(ids))
    _check_with_config(cli, out, tmp_path)


def test_tables_and_label_lines_give_tasks_and_units(cli: Callable[..., Result],
                                                    tmp_path: Path) -> None:
    draft = _import(cli, PLANS / "so-noi-vu-2026-bang.md", tmp_path / "d.toml")
    events = {e["title"]: e for e in draft["event"]}  # type: ignore[attr-defined]
    assert events["Kiểm tra liên ngành việc thực hiện pháp luật về bình đẳng giới tại các xã, "
                  "phường"]["units"] == ["thanh-tra-so"]
    assert events["Đối thoại chính sách với nữ đoàn viên, hội viên"]["units"] == [
        "hoi-lien-hiep-phu-nu-tinh"]
    dv = events["Tháng hành động quốc gia về phòng, chống bạo lực gia đình"]
    assert dv["units"] == ["so-van-hoa-the-thao-va-du-lich"]
    six_months = events["Hạn gửi báo cáo 6 tháng về công tác bình đẳng giới"]
    assert six_months["units"] == ["ubnd-cac-xa-phuong-dac-khu"]
    assert six_months["report_to"] == "phong-cong-tac-thanh-nien-va-binh-dang-gioi"
    assert events["Ngày Quốc tế Phụ nữ"]["units"] == ["all"]
    # No "qua ..." in the sentence: reports go to the plan's focal point ("là đầu mối").
    quarterly = events["Báo cáo số liệu thống kê giới hằng quý"]
    assert quarterly["report_to"] == "phong-cong-tac-thanh-nien-va-binh-dang-gioi"
    basis = {e["basis"] for e in draft["event"]}  # type: ignore[attr-defined]
    assert basis == {"Kế hoạch số 310/KH-SNV ngày 30/12/2025 của Sở Nội vụ"}


def test_docx_in_the_government_layout(cli: Callable[..., Result], tmp_path: Path) -> None:
    """Header and signature in tables, a schedule table, Word numbering (no "1." in text)."""
    import docx

    document = docx.Document()
    header = document.add_table(rows=2, cols=2)
    header.cell(0, 0).text = "UBND HUYỆN AN LÃO\nPHÒNG VĂN HÓA VÀ THÔNG TIN"
    header.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    header.cell(1, 0).text = "Số: 27/KH-VHTT"
    header.cell(1, 1).text = "An Lão, ngày 10 tháng 01 năm 2025"
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Tuyên truyền về bình đẳng giới năm 2025")
    document.add_paragraph("Căn cứ Kế hoạch số 05/KH-UBND ngày 06/01/2025 của UBND huyện An Lão.")
    document.add_paragraph("LỊCH TUYÊN TRUYỀN")
    schedule = document.add_table(rows=3, cols=4)
    for row, cells in enumerate([
        ("STT", "Nội dung", "Đơn vị thực hiện", "Thời gian"),
        ("1", "Phát thanh chuyên đề về phòng, chống bạo lực gia đình",
         "Trung tâm Văn hóa - Thể thao và Truyền thanh", "Tháng 6/2025"),
        ("2", "Tọa đàm với nữ công nhân các doanh nghiệp", "Liên đoàn Lao động huyện",
         "ngày 20/9/2025"),
    ]):
        for column, text in enumerate(cells):
            schedule.cell(row, column).text = text
    document.add_paragraph("TỔ CHỨC THỰC HIỆN")
    document.add_paragraph("Trung tâm Văn hóa - Thể thao và Truyền thanh: xây dựng chuyên mục.")
    document.add_paragraph("Liên đoàn Lao động huyện: phối hợp tổ chức tọa đàm; báo cáo kết quả "
                           "về Phòng Văn hóa và Thông tin trước ngày 05/12/2025.")
    footer = document.add_table(rows=1, cols=2)
    footer.cell(0, 0).text = ("Nơi nhận:\n- UBND huyện (b/c);\n- Hội Liên hiệp Phụ nữ huyện;\n"
                              "- Lưu: VT.")
    footer.cell(0, 1).text = "TRƯỞNG PHÒNG\nNguyễn Văn B"
    source = tmp_path / "ke-hoach-27.docx"
    document.save(str(source))

    draft_path = tmp_path / "draft.toml"
    draft = _import(cli, source, draft_path, cwd=tmp_path)
    _check_with_config(cli, draft_path, tmp_path)
    _assert_items(_agenda(cli, draft_path, 2025, tmp_path), {
        (None, "2025-06-01", "2025-06-30", "activity"),
        (None, "2025-09-20", "2025-09-20", "activity"),
        (None, "2025-12-05", "2025-12-05", "deadline"),
    })
    units = {u["id"] for u in draft["unit"]}  # type: ignore[attr-defined]
    assert units == {"trung-tam-van-hoa-the-thao-va-truyen-thanh", "lien-doan-lao-dong-huyen",
                     "phong-van-hoa-va-thong-tin", "hoi-lien-hiep-phu-nu-huyen"}
    events = {e["title"]: e for e in draft["event"]}  # type: ignore[attr-defined]
    talk = events["Tọa đàm với nữ công nhân các doanh nghiệp"]
    assert talk["units"] == ["lien-doan-lao-dong-huyen"]
    report = next(e for e in draft["event"] if e["kind"] == "deadline")  # type: ignore[attr-defined]
    assert report["units"] == ["lien-doan-lao-dong-huyen"]
    assert report["report_to"] == "phong-van-hoa-va-thong-tin"
    assert report["basis"] == "Kế hoạch số 27/KH-VHTT ngày 10/1/2025 của Phòng Văn hóa và thông tin"


def test_fixture_copies_match_the_shared_plans() -> None:
    """Every plan in ../shared/plans (beside the clone in CI) is tested, as it is now."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "plans"
    plans = sorted(shared.glob("*")) if shared.is_dir() else []
    for plan in plans:
        copy = PLANS / plan.name
        assert copy.is_file() and plan.name in EXPECTED, f"{plan.name} has no expected items"
        assert copy.read_bytes() == plan.read_bytes(), f"{plan.name} changed in shared/plans"
    assert len(EXPECTED) >= 4


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hard_wrapped_copies_give_the_same_items(cli: Callable[..., Result], tmp_path: Path,
                                                 name: str) -> None:
    """Lines broken at 78 columns, as text copied out of a PDF: sentences join up again."""
    import textwrap

    lines: list[str] = []
    for line in (PLANS / name).read_text(encoding="utf-8").splitlines():
        table_row = line.startswith("|")
        lines += [line] if table_row else (
            textwrap.wrap(line, 78, break_long_words=False, break_on_hyphens=False) or [""])
    wrapped = tmp_path / name
    wrapped.write_text("\n".join(lines), encoding="utf-8")
    draft_path = tmp_path / "draft.toml"
    _import(cli, wrapped, draft_path, cwd=tmp_path)
    year, expected = EXPECTED[name]
    _assert_items(_agenda(cli, draft_path, year, tmp_path), expected)


def test_the_same_plan_twice_gives_each_item_once(cli: Callable[..., Result],
                                                  tmp_path: Path) -> None:
    name = "xa-hoa-an-2026-nfd.txt"
    copy = tmp_path / "copy.txt"
    copy.write_bytes((PLANS / name).read_bytes())
    out = tmp_path / "both.toml"
    result = cli("import", str(PLANS / name), str(copy), "--out", str(out), cwd=tmp_path)
    assert result.status == 0, result.stderr
    year, expected = EXPECTED[name]
    _assert_items(_agenda(cli, out, year, tmp_path), expected)
    assert "cũng có trong copy.txt:" in out.read_text(encoding="utf-8")

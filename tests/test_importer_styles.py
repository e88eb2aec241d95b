"""The importer on documents as they really arrive: letters, portal news, broken headers,
two-column header tables, and the same plan as .doc, .html with site chrome and a scan.

The documents in fixtures/importer/ were written for these tests in the styles officers
receive (none is a copy of a real document). Each must give its expected items and no
others, with the names, bases, units and `report_to` the issue describes.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Result, stderr_on_a_terminal
from tests.test_importer_plans import (
    BTDG,
    EXPECTED,
    PLANS,
    _agenda,
    _assert_items,
    _check_with_config,
    _import,
)

STYLES = FIXTURES / "importer"
Items = set[tuple[str | None, str, str, str]]

STYLE_EXPECTED: dict[str, tuple[int, Items]] = {
    "cong-van-so-noi-vu-2025.txt": (2025, {
        (None, "2025-04-25", "2025-04-25", "deadline"),  # số liệu, gửi về Sở (qua Phòng ...)
        (None, "2025-06-01", "2025-06-30", "activity"),  # tập huấn, "Thời gian dự kiến"
        (BTDG, "2025-11-15", "2025-12-15", "campaign"),
        (None, "2025-12-05", "2025-12-05", "deadline"),  # báo cáo kết quả năm
    }),
    "tin-cong-thong-tin-2024.txt": (2024, {
        (None, "2024-04-01", "2024-06-30", "activity"),  # tập huấn, quý II/2024
        ("ngay-gia-dinh-viet-nam", "2024-06-28", "2024-06-28", "observance"),
        (BTDG, "2024-11-15", "2024-12-15", "campaign"),
        (None, "2024-11-14", "2024-11-14", "activity"),  # lễ mít tinh phát động
        (None, "2024-12-05", "2024-12-05", "deadline"),
    }),
    "ke-hoach-dong-ngay-gay-2025.txt": (2025, {
        ("ngay-quoc-te-phu-nu", "2025-03-08", "2025-03-08", "observance"),
        (None, "2025-09-01", "2025-09-30", "activity"),  # hội thi, "Thời gian: trong tháng 9"
        (None, "2025-10-06", "2025-10-17", "activity"),  # kiểm tra
        (None, "2025-12-08", "2025-12-08", "deadline"),
    }),
    "quyet-dinh-kem-ke-hoach-2026.txt": (2026, {  # the plan comes after the signature
        (None, "2026-04-01", "2026-04-30", "activity"),
        (None, "2026-08-10", "2026-08-20", "activity"),
        (None, "2026-12-05", "2026-12-05", "deadline"),
    }),
    "cong-van-bang-tieu-de-2025.md": (2025, {  # a letter whose header is a Markdown table
        (None, "2025-11-10", "2025-12-15", "activity"),  # băng rôn
        (None, "2025-11-14", "2025-11-14", "deadline"),  # lễ phát động, "hoàn thành trước"
        (None, "2025-12-20", "2025-12-20", "deadline"),
    }),
    "ke-hoach-bang-tieu-de-2026.md": (2026, {
        ("ngay-quoc-te-phu-nu", "2026-03-08", "2026-03-08", "observance"),
        (None, "2026-07-01", "2026-07-31", "activity"),
        (None, "2026-08-15", "2026-08-15", "activity"),
        (None, "2026-12-10", "2026-12-10", "deadline"),
    }),
}


def _json(cli: Callable[..., Result], path: Path, cwd: Path) -> dict[str, object]:
    result = cli("import", str(path), "--format", "json", cwd=cwd)
    assert result.status == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def _items_of(cli: Callable[..., Result], source: Path, tmp_path: Path,
              year: int) -> list[dict[str, object]]:
    draft = tmp_path / f"{source.name}.toml"
    _import(cli, source, draft, cwd=tmp_path)
    _check_with_config(cli, draft, tmp_path)
    return _agenda(cli, draft, year, tmp_path)


@pytest.mark.parametrize("name", sorted(STYLE_EXPECTED))
def test_each_style_gives_its_items_and_no_others(cli: Callable[..., Result], tmp_path: Path,
                                                  name: str) -> None:
    year, expected = STYLE_EXPECTED[name]
    _assert_items(_items_of(cli, STYLES / name, tmp_path, year), expected)


def test_letter_is_named_by_its_kind_number_and_date(cli: Callable[..., Result],
                                                     tmp_path: Path) -> None:
    data = _json(cli, STYLES / "cong-van-so-noi-vu-2025.txt", tmp_path)
    assert data["name"] == ("Công văn số 415/SNV-CTTN ngày 7/3/2025 về việc triển khai các "
                            "hoạt động về bình đẳng giới năm 2025")
    plan = data["plans"][0]  # type: ignore[index]
    # The cited ministry letter ("Ngày 20/02/2025, Bộ Nội vụ đã có Công văn số ...") is not
    # the basis, and its date is not an item.
    assert plan["basis"] == "Công văn số 415/SNV-CTTN ngày 7/3/2025 của Sở Nội vụ"
    units = {u["id"]: u["name"] for u in data["units"]}  # type: ignore[attr-defined]
    # The addressees of "Kính gửi" (one unit each, commas and "và" inside names kept).
    assert {"uy-ban-nhan-dan-cac-huyen-thi-xa-thanh-pho", "so-van-hoa-the-thao-va-du-lich",
            "hoi-lien-hiep-phu-nu-tinh"} <= set(units)
    assert units["so-van-hoa-the-thao-va-du-lich"] == "Sở Văn hóa, Thể thao và Du lịch"
    # Superiors (để báo cáo, b/c), leaders and the archive are not units.
    for unit_id in units:
        assert not unit_id.startswith(("bo-noi-vu", "ubnd-tinh", "uy-ban-nhan-dan-tinh",
                                       "giam-doc", "luu")), unit_id
    events = data["events"]  # type: ignore[assignment]
    statistics = next(e for e in events if e.get("date") == "2025-04-25")  # type: ignore
    assert statistics["report_to"] == "phong-cong-tac-thanh-nien-va-binh-dang-gioi"
    assert units[statistics["report_to"]] == "Phòng Công tác thanh niên và Bình đẳng giới"
    training = next(e for e in events if e.get("month") == "2025-06")  # type: ignore
    assert training["title"].startswith("Phối hợp với Sở Nội vụ tổ chức Hội nghị tập huấn")
    for event in events:  # type: ignore[attr-defined]
        assert not re.search(r"\d{4}\.\d|@", event["title"]), event["title"]
        assert not event["title"].startswith(("Để ", "Thời gian")), event["title"]


def test_letter_with_a_table_header_and_a_decision_with_its_plan(
        cli: Callable[..., Result], tmp_path: Path) -> None:
    letter = _json(cli, STYLES / "cong-van-bang-tieu-de-2025.md", tmp_path)
    assert letter["plans"][0]["basis"] == (  # type: ignore[index]
        "Công văn số 88/VHXH ngày 2/10/2025 của Phòng Văn hóa - Xã hội")
    titles = {e["title"] for e in letter["events"]}  # type: ignore[attr-defined]
    assert "Tổ chức lễ phát động Tháng hành động tại xã, thị trấn" in titles
    report = next(e for e in letter["events"] if e.get("date") == "2025-12-20")  # type: ignore
    assert report["report_to"] == "phong-van-hoa-xa-hoi"  # not "đồng chí ..., 0912 ..."
    decision = _json(cli, STYLES / "quyet-dinh-kem-ke-hoach-2026.txt", tmp_path)
    assert decision["plans"][0]["basis"] == (  # type: ignore[index]
        "Quyết định số 205/QĐ-UBND ngày 20/1/2026 của Ủy ban nhân dân huyện Krông Bông")


def test_news_item_year_comes_from_the_plan_not_the_banner(cli: Callable[..., Result],
                                                            tmp_path: Path) -> None:
    data = _json(cli, STYLES / "tin-cong-thong-tin-2024.txt", tmp_path)
    plan = data["plans"][0]  # type: ignore[index]
    assert plan["year"] == 2024  # not 2019 from "... NĂM 2019!"
    assert plan["basis"] == "Kế hoạch số 132/KH-UBND ngày 9/4/2024 của UBND huyện Cam Lâm"
    titles = {e["title"] for e in data["events"]}  # type: ignore[attr-defined]
    assert "Tổ chức lễ mít tinh phát động" in titles  # not "Huyện sẽ tổ chức ..."
    assert not any(t.startswith(("Theo kế hoạch", "Cập nhật", "Minh Châu")) for t in titles)


def test_broken_place_and_date_line_names_the_issuer(cli: Callable[..., Result],
                                                     tmp_path: Path) -> None:
    data = _json(cli, STYLES / "ke-hoach-dong-ngay-gay-2025.txt", tmp_path)
    plan = data["plans"][0]  # type: ignore[index]
    assert plan["date"] == "2025-02-18"
    assert plan["basis"] == ("Kế hoạch số 57/KH-UBND ngày 18/2/2025 của Ủy ban nhân dân thành "
                             "phố Buôn Ma Thuột")
    units = {u["id"] for u in data["units"]}  # type: ignore[attr-defined]
    # "Thường trực Thành ủy, HĐND thành phố" in Nơi nhận are superiors, not units.
    assert units == {"phong-noi-vu", "phong-van-hoa-va-thong-tin", "uy-ban-nhan-dan-cac-phuong-xa"}
    deadline = next(e for e in data["events"] if e["kind"] == "deadline")  # type: ignore
    assert deadline["report_to"] == "phong-noi-vu"


def _two_column_docx(path: Path) -> None:
    """The Markdown plan with its header and signature as two-column Word tables."""
    import docx

    lines = (STYLES / "ke-hoach-bang-tieu-de-2026.md").read_text(encoding="utf-8").splitlines()
    document = docx.Document()
    header = document.add_table(rows=3, cols=2)
    for row, (left, right) in enumerate([
        ("ỦY BAN NHÂN DÂN XÃ EA KAO", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
        ("", "Độc lập - Tự do - Hạnh phúc"),
        ("Số: 09/KH-UBND", "Ea Kao, ngày 12 tháng 01 năm 2026"),
    ]):
        header.cell(row, 0).text = left
        header.cell(row, 1).text = right
    body = [line for line in lines if line.strip() and not line.startswith("|")]
    for line in body:
        document.add_paragraph(line.strip("*# "))
    footer = document.add_table(rows=1, cols=2)
    footer.cell(0, 0).text = ("Nơi nhận:\n- UBND tỉnh (b/c);\n- Các ban, ngành, đoàn thể xã;\n"
                              "- Lưu: VT.")
    footer.cell(0, 1).text = "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH\n\nY Bhăm Niê"
    document.save(str(path))


def test_two_column_header_table_in_docx(cli: Callable[..., Result], tmp_path: Path) -> None:
    source = tmp_path / "ke-hoach-09.docx"
    _two_column_docx(source)
    year, expected = STYLE_EXPECTED["ke-hoach-bang-tieu-de-2026.md"]
    _assert_items(_items_of(cli, source, tmp_path, year), expected)
    for path in (source, STYLES / "ke-hoach-bang-tieu-de-2026.md"):
        data = _json(cli, path, tmp_path)
        plan = data["plans"][0]  # type: ignore[index]
        assert plan["basis"] == ("Kế hoạch số 09/KH-UBND ngày 12/1/2026 của Ủy ban nhân dân "
                                 "xã Ea Kao")
        units = {u["id"] for u in data["units"]}  # type: ignore[attr-defined]
        assert "van-phong-hdnd-va-ubnd-xa" in units  # "và" inside a name: one unit
        assert not any(u.startswith(("ubnd-tinh", "uy-ban-nhan-dan-tinh")) for u in units)


# --- The same plan in the formats it arrives in -------------------------------------------

def _plan_lines(source: Path) -> list[str]:
    return [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]


def _docx_of(source: Path, out: Path) -> None:
    import docx

    document = docx.Document()
    for line in _plan_lines(source):
        if line:
            document.add_paragraph(line.lstrip("#").strip())
    document.save(str(out))


def _soffice_doc(docx_path: Path, tmp_path: Path) -> Path:
    """Word 97-2003 made from the .docx by LibreOffice headless, as an office would."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (libreoffice-writer-nogui) is needed: make system-deps"
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "doc", "--outdir", str(tmp_path), str(docx_path)],
                   check=True, capture_output=True, timeout=180)
    made = tmp_path / (docx_path.stem + ".doc")
    assert made.read_bytes().startswith(b"\xd0\xcf\x11\xe0")  # an OLE Word file
    return made


def _portal_page(source: Path, out: Path) -> None:
    """The plan as an article on a portal: banner, menu, news list, byline and footer."""
    body = "".join(f"<p>{html.escape(line.lstrip('#').strip())}</p>\n"
                   for line in _plan_lines(source) if line)
    out.write_text(f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><title>Cổng thông tin điện tử</title>
<script>var updated = "12/04/2023 08:30";</script></head>
<body>
<header><div class="banner">CHÀO MỪNG KỶ NIỆM 45 NĂM NGÀY GIẢI PHÓNG QUÊ HƯƠNG NĂM 2019!</div>
<nav><ul><li><a href="/">Trang chủ</a></li><li><a href="/gioi-thieu">Giới thiệu</a></li>
<li><a href="/tin-tuc">Tin tức - Sự kiện</a></li><li><a href="/van-ban">Văn bản</a></li></ul>
</nav></header>
<div class="container"><aside class="sidebar"><h3>Tin mới</h3><ul>
<li><a href="/a">Hội nghị triển khai nhiệm vụ năm 2019 ngày 05/01/2019</a></li>
<li><a href="/b">Lịch tiếp công dân tháng 3/2024 của Chủ tịch UBND</a></li>
<li><a href="/c">Thông báo tuyển dụng viên chức trước ngày 30/6/2024</a></li></ul></aside>
<main><article class="news-detail">
<div class="meta">Thứ Tư, 12/04/2023 08:30 | Lượt xem: 1.204</div>
<div class="content">
{body}
</div>
<p class="author">Ban Biên tập - Cổng thông tin điện tử</p>
</article>
<section class="related"><h3>Tin liên quan</h3><ul>
<li><a href="/d">Tổng kết công tác gia đình năm 2023 (15/01/2024)</a></li>
<li><a href="/e">Hội thi nấu ăn ngày 20/10/2023</a></li></ul></section></main></div>
<footer><p>Bản quyền thuộc Ủy ban nhân dân. Điện thoại: 0262.3852.123.</p>
<p>Cập nhật: 14:05, Thứ Sáu, 7-7-2023</p></footer>
</body></html>
""", encoding="utf-8")


def _scan(source: Path, tmp_path: Path) -> Path:
    """An image-only PDF of the plan: printed by chromium, every page rasterised by
    ghostscript into a page image (pdfimage8), so the PDF has no text layer at all."""
    page = tmp_path / "print.html"
    page.write_text('<html><head><meta charset="utf-8"><style>body{font: 13pt serif}</style>'
                    "</head><body>" + "".join(
                        f"<p>{html.escape(line.lstrip('#').strip())}</p>"
                        for line in _plan_lines(source) if line) + "</body></html>",
                    encoding="utf-8")
    printed = tmp_path / "print.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'chromium'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={printed}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    scan = tmp_path / "scan.pdf"
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfimage8",
                    "-r200", "-o", str(scan), str(printed)],
                   check=True, capture_output=True, timeout=120)
    import pypdf

    reader = pypdf.PdfReader(str(scan))
    assert all(not (p.extract_text() or "").strip() for p in reader.pages)  # no text layer
    return scan


FORMAT_PLANS = {
    "ke-hoach-dong-ngay-gay-2025.txt": (STYLES, STYLE_EXPECTED),
    "xa-hoa-an-2026-nfd.txt": (PLANS, EXPECTED),
}


@pytest.mark.parametrize("name", sorted(FORMAT_PLANS))
def test_doc_gives_the_same_items_as_the_text(cli: Callable[..., Result], tmp_path: Path,
                                              name: str) -> None:
    folder, expected = FORMAT_PLANS[name]
    year, items = expected[name]
    docx_path = tmp_path / "ke-hoach.docx"
    _docx_of(folder / name, docx_path)
    doc = _soffice_doc(docx_path, tmp_path)
    _assert_items(_items_of(cli, doc, tmp_path, year), items)


def test_doc_with_a_two_column_header(cli: Callable[..., Result], tmp_path: Path) -> None:
    docx_path = tmp_path / "ke-hoach-09.docx"
    _two_column_docx(docx_path)
    doc = _soffice_doc(docx_path, tmp_path)
    year, items = STYLE_EXPECTED["ke-hoach-bang-tieu-de-2026.md"]
    _assert_items(_items_of(cli, doc, tmp_path, year), items)
    plan = _json(cli, doc, tmp_path)["plans"][0]  # type: ignore[index]
    assert plan["basis"] == "Kế hoạch số 09/KH-UBND ngày 12/1/2026 của Ủy ban nhân dân xã Ea Kao"


@pytest.mark.parametrize("name", sorted(FORMAT_PLANS))
def test_portal_page_gives_the_same_items_as_the_text(cli: Callable[..., Result],
                                                      tmp_path: Path, name: str) -> None:
    folder, expected = FORMAT_PLANS[name]
    year, items = expected[name]
    page = tmp_path / "tin-bai.html"
    _portal_page(folder / name, page)
    _assert_items(_items_of(cli, page, tmp_path, year), items)
    # Provenance points into the saved page: the quoted sentence is on that source line.
    data = _json(cli, page, tmp_path)
    source = page.read_text(encoding="utf-8").splitlines()
    for event in data["events"]:  # type: ignore[attr-defined]
        line = unicodedata.normalize("NFC", html.unescape(source[event["source"]["line"] - 1]))
        assert event["source"]["quote"].split()[0] in line, (event["source"], line)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FORMAT_PLANS))
def test_scanned_pdf_is_read_by_ocr(cli: Callable[..., Result], tmp_path: Path,
                                    name: str) -> None:
    folder, expected = FORMAT_PLANS[name]
    year, items = expected[name]
    scan = _scan(folder / name, tmp_path)
    draft = tmp_path / "scan.toml"
    result = cli("import", str(scan), "--out", str(draft), cwd=tmp_path, timeout=300)
    assert result.status == 0, result.stderr
    assert "nhận dạng từ ảnh quét (OCR)" in result.stderr
    text = draft.read_text(encoding="utf-8")
    assert "# Lưu ý: chữ của scan.pdf được nhận dạng từ ảnh quét (OCR)" in text
    assert re.search(r"# Nguồn: scan\.pdf:\d+ \(trang \d\)", text)
    found = _agenda(cli, draft, year, tmp_path)
    keys = [(str(i["event"]), str(i["start"]), str(i["end"]), str(i["kind"])) for i in found]
    missed = [e for e in items if not any(k[1:] == e[1:] and e[0] in (None, k[0]) for k in keys)]
    extra = [k for k in keys if not any(k[1:] == e[1:] and e[0] in (None, k[0]) for e in items)]
    assert len(missed) <= 1, f"OCR missed {missed}"  # the issue allows one per plan
    assert not extra, f"OCR invented {extra}"


def test_pdf_with_a_text_layer_is_never_ocred(cli: Callable[..., Result],
                                              tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text('<html><head><meta charset="utf-8"></head><body>' + "".join(
        f"<p>{html.escape(line)}</p>" for line in _plan_lines(STYLES / "ke-hoach-dong-ngay-gay"
                                                               "-2025.txt") if line)
        + "</body></html>", encoding="utf-8")
    pdf = tmp_path / "plan.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--no-first-run", "--disable-background-networking",
                    f"--user-data-dir={tmp_path / 'chromium'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    draft = tmp_path / "d.toml"
    result = cli("import", str(pdf), "--out", str(draft), cwd=tmp_path)
    assert result.status == 0, result.stderr
    assert "OCR" not in result.stderr and "OCR" not in draft.read_text(encoding="utf-8")
    assert "(trang 1)" in draft.read_text(encoding="utf-8")  # provenance: line and page


@pytest.mark.slow
def test_ocr_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import os
    import sys

    scan = _scan(STYLES / "tin-cong-thong-tin-2024.txt", tmp_path)
    command = [sys.executable, "-m", "scheduler", "import", str(scan), "--out",
               str(tmp_path / "d.toml")]
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    seen = stderr_on_a_terminal(command, tmp_path, env, timeout=300)
    assert "Nhận dạng chữ (OCR) ".encode() in seen
    assert (tmp_path / "d.toml").exists()

"""The importer's rules over Vietnamese administrative text, one behaviour per test."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from scheduler.calendar import read_calendar
from scheduler.config import national_calendar_path
from scheduler.importer import Draft, draft_files, to_json
from scheduler.importer.dates import find_dates
from scheduler.importer.text import clean_line, paragraphs, slug
from scheduler.importer.units import unit_key
from scheduler.model import Event
from scheduler.reader import Reader
from scheduler.tomlfile import load_toml


def _national() -> list[Event]:
    return list(read_calendar(Reader(load_toml(national_calendar_path(), "n"), [])).events)


HEADER = "Số: 45/KH-UBND\nXã Hòa An, ngày 22 tháng 4 năm 2024\n\nKẾ HOẠCH\nCông tác năm 2024\n\n"


def _draft(tmp_path: Path, body: str, name: str = "plan.txt", header: str = HEADER) -> Draft:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return draft_files([path], _national())


def _rules(draft: Draft) -> list[tuple[str, dict[str, object]]]:
    return [(e.kind, e.rule) for e in draft.events]


@pytest.mark.parametrize(("text", "first", "last"), [
    ("tổ chức vào ngày 08/3", (None, 3, 8), None),
    ("kỷ niệm ngày 8-3", (None, 3, 8), None),
    ("vào ngày 28 tháng 6", (None, 6, 28), None),
    ("trước ngày 10/6/2024", (2024, 6, 10), None),
    ("ngày 05 tháng 12 năm 2026", (2026, 12, 5), None),
    ("từ ngày 15/11 đến 15/12/2024", (2024, 11, 15), (2024, 12, 15)),
    ("15/11-15/12", (None, 11, 15), (None, 12, 15)),
    ("từ ngày 15/12/2024 đến ngày 15/01/2025", (2024, 12, 15), (2025, 1, 15)),
    ("từ ngày 1 đến ngày 7/6", (None, 6, 1), (None, 6, 7)),
    ("trong tháng 6 hằng năm", (None, 6, 0), None),
    ("trong tháng 7/2026", (2026, 7, 0), None),
    ("trong tháng 7 năm 2026", (2026, 7, 0), None),
])
def test_date_expressions(text: str, first: tuple[int | None, int, int],
                          last: tuple[int | None, int, int] | None) -> None:
    (mention,) = find_dates(text)
    assert (mention.first, mention.last) == (first, last)


@pytest.mark.parametrize("text", [
    "giai đoạn 2021-2025", "giai đoạn 2021 - 2030", "nhiệm kỳ 2021-2026", "1790/QĐ-TTg",
    "6 tháng đầu năm", "mục 1.2 của kế hoạch", "HIV/AIDS", "31/2 là ngày không có",
])
def test_not_date_expressions(text: str) -> None:
    assert find_dates(text) == []


def test_quarterly_rule() -> None:
    (mention,) = find_dates("Hằng quý, chậm nhất ngày 20 của tháng cuối quý, gửi báo cáo")
    assert mention.rrule == "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=20"
    (mention,) = find_dates("báo cáo hằng quý trước ngày 15 tháng đầu quý sau")
    assert mention.rrule == "FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=15"
    (mention,) = find_dates("hằng tháng, trước ngày 25, gửi số liệu")
    assert mention.rrule == "FREQ=MONTHLY;BYMONTHDAY=25"


def test_cited_documents_founding_years_and_own_date_are_not_events(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "Căn cứ Quyết định số 1790/QĐ-TTg ngày 23/10/2021 của Thủ tướng Chính phủ; Kế hoạch số "
        "24/KH-SLĐTBXH ngày 15/02/2022 của Sở; Chỉ thị số 21-CT/TW ngày 20/01/2018; Thông tư số "
        "191/2009/TT-BTC ngày 01/10/2009; Công văn ngày 05/3/2024 của Sở Nội vụ.\n\n"
        "Ngày 22/4/2024, UBND xã ban hành Kế hoạch số 45/KH-UBND về công tác năm 2024.\n\n"
        "Hội Liên hiệp Phụ nữ Việt Nam thành lập ngày 20/10/1930; Ngày Quốc tế Phụ nữ bắt nguồn "
        "từ ngày 08/3/1910.\n\n"
        "Thực hiện Chiến lược giai đoạn 2021-2025 và 2021 - 2030; mỗi thôn 2-3 buổi truyền thông.\n"
        "16:25 20/04/2024\n"))
    assert draft.events == ()


def test_anniversary_span_is_this_years_day(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "- Kỷ niệm 94 năm Ngày thành lập Hội Liên hiệp Phụ nữ Việt Nam "
                             "(20/10/1930 - 20/10/2024).\n")
    assert [(e.id, e.rule) for e in draft.events] == [("ngay-phu-nu-viet-nam", {"date": "10-20"})]


def test_known_observance_gets_national_id_and_title(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "- Tổ chức gặp mặt nhân kỷ niệm ngày 8-3.\n")
    (event,) = draft.events
    assert (event.id, event.title, event.kind, event.rule) == (
        "ngay-quoc-te-phu-nu", "Ngày Quốc tế Phụ nữ", "observance", {"date": "03-08"})


def test_kinds_rules_and_titles_of_plain_items(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "- Các đơn vị gửi báo cáo sơ kết công tác bình đẳng giới trước ngày 20/7/2024.\n"
        "- Hằng năm, tổ chức hội nghị đối thoại với phụ nữ vào ngày 15/9.\n"
        "- Tổ chức chiến dịch truyền thông về bình đẳng giới từ ngày 01/9 đến ngày 30/9.\n"
        "- Tập huấn cho cán bộ thôn trong tháng 7.\n"))
    got = [(e.kind, e.title, e.rule) for e in draft.events]
    assert got == [
        ("deadline", "Báo cáo sơ kết công tác bình đẳng giới", {"date": "2024-07-20"}),
        ("activity", "Hằng năm, tổ chức hội nghị đối thoại với phụ nữ", {"date": "09-15"}),
        ("campaign", "Tổ chức chiến dịch truyền thông về bình đẳng giới",
         {"start": "2024-09-01", "end": "2024-09-30"}),
        ("activity", "Tập huấn cho cán bộ thôn", {"month": "2024-07"}),
    ]


def test_periodic_deadlines_are_yearly(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "Định kỳ 6 tháng (trước ngày 10 tháng 6), các bộ phận gửi báo cáo "
                             "về Văn phòng UBND xã.\n")
    (event,) = draft.events
    assert (event.id, event.kind, event.rule) == ("bao-cao-6-thang", "deadline",
                                                  {"date": "06-10"})
    assert event.report_to == "van-phong-ubnd-xa"
    assert [u.id for u in draft.units] == ["van-phong-ubnd-xa"]


def test_year_comes_from_the_title_when_the_header_has_none(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "- Hội nghị sơ kết ngày 15/7.\n",
                   header="KẾ HOẠCH\nCông tác bình đẳng giới năm 2025\n\n")
    assert [e.rule for e in draft.events] == [{"date": "2025-07-15"}]


def test_nfc_and_nfd_give_the_same_draft(tmp_path: Path) -> None:
    source = (Path(__file__).parent / "fixtures" / "plans" / "huyen-tho-xuan-2024.md")
    text = source.read_text(encoding="utf-8")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    nfc = tmp_path / "a" / "plan.md"
    nfd = tmp_path / "b" / "plan.md"
    nfc.write_text(unicodedata.normalize("NFC", text), encoding="utf-8")
    nfd.write_text(unicodedata.normalize("NFD", text), encoding="utf-8")
    first = to_json(draft_files([nfc], _national())).replace(str(nfc), "PLAN")
    second = to_json(draft_files([nfd], _national())).replace(str(nfd), "PLAN")
    assert first == second
    assert unicodedata.is_normalized("NFC", second)


def test_hygiene_spaces_dashes_and_markdown() -> None:
    assert clean_line("## **2. Phòng\u00a0Tài chính – Kế hoạch**") == \
        "2. Phòng Tài chính - Kế hoạch"
    assert clean_line("- Báo cáo năm: Trước ngày **10/12/2024**") == \
        "- Báo cáo năm: Trước ngày 10/12/2024"
    assert clean_line("#### ***Nơi nhận:***") == "Nơi nhận:"
    assert clean_line("15/11\u201415/12 \u200b") == "15/11-15/12"


def test_sentences_across_line_breaks_keep_their_lines() -> None:
    lines = ["- Tổ chức Tháng hành động trên địa bàn huyện từ ngày 15/11 đến ngày", "",
             "15/12/2024 đảm bảo hiệu quả, trước ngày", "30/12/2024 báo cáo kết quả."]
    (para,) = paragraphs(lines)
    assert "đến ngày 15/12/2024 đảm bảo" in para.text
    spans = find_dates(para.text)
    assert [para.line_at(m.start) for m in spans] == [1, 3]  # where each expression starts


def test_slugs_and_unit_keys() -> None:
    assert slug("Đoàn Thanh niên Cộng sản Hồ Chí Minh") == "doan-thanh-nien-cong-san-ho-chi-minh"
    assert slug("Ủy ban MTTQ Việt Nam xã") == "uy-ban-mttq-viet-nam-xa"
    assert unit_key("UBND các xã, thị trấn") == unit_key("Ủy ban nhân dân các xã thị trấn")
    assert unit_key("Phòng LĐTBXH huyện") == unit_key("Phòng Lao động – Thương binh và Xã hội")
    assert unit_key("Ủy ban MTTQ") == unit_key("Ủy ban Mặt trận Tổ quốc Việt Nam huyện")


def test_since_clauses_and_effective_dates_are_background(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "Từ ngày 01/7/2025, Phòng Văn hóa - Xã hội là cơ quan thường trực về bình đẳng giới.\n"
        "Quy chế có hiệu lực kể từ ngày 15/01/2026.\n"
        "- Tổ chức tập huấn trong Tháng 11-12/2025 cho cán bộ thôn.\n"
        "- Các thôn báo cáo trước 17 giờ ngày 18/12/2025.\n"),
        header="Số: 88/KH-UBND\nTân Phú, ngày 20 tháng 10 năm 2025\n\nKẾ HOẠCH\n"
               "Công tác năm 2025\n\n")
    assert [(e.kind, e.title, e.rule) for e in draft.events] == [
        ("activity", "Tổ chức tập huấn", {"start": "2025-11-01", "end": "2025-12-31"}),
        ("deadline", "Các thôn báo cáo", {"date": "2025-12-18"}),
    ]


def test_page_numbers_do_not_join_sentences() -> None:
    lines = ["- Tổ chức hội nghị sơ kết vào ngày 15/7/2024 tại hội trường của Ủy ban nhân dân xã,",
             "2", "với sự tham gia của các thôn."]
    (para,) = paragraphs(lines)
    assert para.text.endswith("xã, với sự tham gia của các thôn.")


def test_month_ranges_and_quarters() -> None:
    assert [(m.first, m.last) for m in find_dates("từ tháng 8 đến tháng 10/2026")] == [
        ((2026, 8, 1), (2026, 10, 31))]
    assert [(m.first, m.last) for m in find_dates("Thời gian: Quý II/2026")] == [
        ((2026, 4, 1), (2026, 6, 30))]
    assert [m.first for m in find_dates("vào tháng 6 và tháng 12")] == [(None, 6, 0),
                                                                        (None, 12, 0)]


def test_tasks_under_a_month_heading_happen_that_month(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "II. NỘI DUNG THEO THÁNG\n\nTháng 3:\n"
        "- Tổ chức các hoạt động kỷ niệm Ngày Quốc tế Phụ nữ 8/3.\n"
        "- Sơ kết hoạt động quý I của Ban.\n\nTháng 6:\n"
        "- Hưởng ứng Tháng hành động quốc gia về phòng, chống bạo lực gia đình.\n"
        "- Gửi báo cáo 6 tháng về Phòng Văn hóa - Xã hội.\n\nQuý IV:\n"
        "- Kiểm tra việc thực hiện công tác bình đẳng giới tại các thôn.\n\n"
        "III. TỔ CHỨC THỰC HIỆN\n1. Phòng Văn hóa - Xã hội: theo dõi, đôn đốc.\n"),
        header="KẾ HOẠCH\nHoạt động của Ban vì sự tiến bộ của phụ nữ xã năm 2026\n\n")
    assert [(e.id, e.kind, e.rule, e.report_to) for e in draft.events] == [
        ("ngay-quoc-te-phu-nu", "observance", {"date": "03-08"}, None),
        ("so-ket-hoat-dong-quy-i-cua-ban-2026", "activity", {"month": "2026-03"}, None),
        ("thang-hanh-dong-phong-chong-bao-luc-gia-dinh", "campaign", {"month": 6}, None),
        ("gui-bao-cao-6-thang-ve-phong-van-hoa-xa-hoi-2026", "deadline", {"date": "2026-06-30"},
         "phong-van-hoa-xa-hoi"),
        ("kiem-tra-viec-thuc-hien-cong-tac-binh-dang-gioi-tai-cac-2026", "activity",
         {"start": "2026-10-01", "end": "2026-12-31"}, None),
    ]


def test_more_citation_forms_and_idioms_are_not_events(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "Thực hiện Kế hoạch số 45/KH-UBND (ngày 02/5/2024) và Công văn số 456/SNV-CTTN&BĐG "
        "ngày 03/5/2024 của Sở Nội vụ; đường dây nóng trực 24/7.\n"))
    assert draft.events == ()


def test_html_in_markdown_tables() -> None:
    assert clean_line("| UBND TỈNH<br>**SỞ NỘI VỤ** | <b>CỘNG HÒA</b> |") == \
        "| UBND TỈNH | SỞ NỘI VỤ | CỘNG HÒA |"


def test_units_named_by_bullets_and_by_giao(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "II. NỘI DUNG\n- Giao Trạm Y tế xã tổ chức khám sức khỏe sinh sản cho phụ nữ ngày "
        "15/5/2024.\n\nIII. TỔ CHỨC THỰC HIỆN\n"
        "- Trạm Y tế xã chủ trì truyền thông về sức khỏe sinh sản.\n"
        "- Công an xã phối hợp, tổ chức tuyên truyền phòng, chống mua bán người ngày 30/7.\n"))
    assert [(u.id, u.name) for u in draft.units] == [("tram-y-te-xa", "Trạm Y tế xã"),
                                                     ("cong-an-xa", "Công an xã")]
    assert [(e.id, e.units) for e in draft.events] == [
        ("to-chuc-kham-suc-khoe-sinh-san-cho-phu-nu-2024", ["tram-y-te-xa"]),
        ("ngay-toan-dan-phong-chong-mua-ban-nguoi", ["cong-an-xa"]),
    ]


def test_control_characters_never_reach_the_toml(tmp_path: Path) -> None:
    import tomllib

    from scheduler.importer import to_toml

    draft = _draft(tmp_path, "- Tổ chức hội nghị\x07 \"sơ kết\" \\ ngày 15/7/2024.\x1b\n")
    data = tomllib.loads(to_toml(draft))
    assert [e["date"] for e in data["event"]] == ["2024-07-15"]


def test_dates_joined_by_va_share_their_kind(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "- Trước ngày 15/6 và 15/12 hằng năm, các thôn gửi báo cáo về "
                             "Văn phòng UBND xã.\n")
    assert [(e.kind, e.rule, e.report_to) for e in draft.events] == [
        ("deadline", {"date": "06-15"}, "van-phong-ubnd-xa"),
        ("deadline", {"date": "12-15"}, "van-phong-ubnd-xa"),
    ]


@pytest.mark.parametrize(("heading", "is_heading"), [
    ("IV. TỔ CHỨC THỰC HIỆN", True), ("Điều 3. Tổ chức thực hiện", True),
    ("III. TRÁCH NHIỆM CỦA CÁC CƠ QUAN, ĐƠN VỊ", True), ("V. PHÂN CÔNG NHIỆM VỤ", True),
    ("6. Tổ chức thực hiện Tháng hành động vì bình đẳng giới", False),
])
def test_organisation_headings(heading: str, is_heading: bool) -> None:
    from scheduler.importer.sections import _ORG_HEADING

    assert bool(_ORG_HEADING.match(heading)) is is_heading


def test_day_ranges_and_quarter_subjects(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "- Tuần lễ hưởng ứng từ ngày 01-07/9/2024 tại các thôn.\n"
        "- Các thôn gửi báo cáo quý III/2024 trước ngày 20/9/2024.\n"))
    assert [(e.kind, e.rule) for e in draft.events] == [
        ("campaign", {"start": "2024-09-01", "end": "2024-09-07"}),
        ("deadline", {"date": "2024-09-20"}),
    ]


def test_fractions_and_counts_are_not_dates(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "- Phấn đấu 1/3 số xã có mô hình; đạt 2/3 chỉ tiêu; trẻ em từ 6-9 tuổi; học sinh lớp 6-9.\n"
        "- Tổ chức tọa đàm nhân dịp 20/10 và hội thi vào ngày 1/6/2024.\n"))
    assert [(e.id, e.rule) for e in draft.events] == [
        ("ngay-phu-nu-viet-nam", {"date": "10-20"}),
        ("hoi-thi-2024", {"date": "2024-06-01"}),
    ]


def test_header_number_with_a_space_and_a_numeric_date(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "- Hội nghị sơ kết ngày 15/7/2024.\n",
                   header="Số: 45 /KH-UBND\nHà Nội, ngày 22/4/2024\n\nKẾ HOẠCH\n"
                          "Công tác năm 2024\n\n")
    (plan,) = draft.plans
    assert (plan.identity.number, plan.identity.issued) == ("45/KH-UBND", date(2024, 4, 22))


def test_each_date_takes_the_kind_of_its_own_clause(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "- Tổ chức hội nghị sơ kết ngày 15/7 và lễ kỷ niệm Ngày Pháp luật "
                             "Việt Nam ngày 9/11.\n")
    assert [(e.kind, e.title, e.rule) for e in draft.events] == [
        ("activity", "Tổ chức hội nghị sơ kết", {"date": "2024-07-15"}),
        ("observance", "Ngày Pháp luật Việt Nam", {"date": "2024-11-09"}),
    ]


def test_whole_months_yearly_or_dated(tmp_path: Path) -> None:
    draft = _draft(tmp_path, "- Tổ chức hội thi tìm hiểu pháp luật trong tháng 6 hằng năm.\n"
                             "- Tập huấn cho cán bộ thôn trong tháng 7/2026.\n")
    assert [(e.kind, e.rule) for e in draft.events] == [
        ("activity", {"month": 6}), ("activity", {"month": "2026-07"})]


def test_an_appendix_after_the_signature_is_read(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "- Tổ chức hội nghị triển khai ngày 10/5/2024.\n\nNơi nhận:\n- Như trên;\n- Lưu: VT.\n\n"
        "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH\nNguyễn Văn A\n\nPHỤ LỤC\nLịch tuyên truyền năm 2024\n\n"
        "| TT | Nội dung | Thời gian |\n|---|---|---|\n| 1 | Phát thanh chuyên đề | 15/8/2024 |\n"))
    assert [(e.title, e.rule) for e in draft.events] == [
        ("Tổ chức hội nghị triển khai", {"date": "2024-05-10"}),
        ("Phát thanh chuyên đề", {"date": "2024-08-15"}),
    ]


def test_utf16_and_crlf_files_read_like_utf8(tmp_path: Path) -> None:
    text = HEADER + "- Tổ chức hội nghị triển khai ngày 10/5/2024.\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    utf16 = tmp_path / "a" / "plan.txt"
    utf16.write_bytes(text.replace("\n", "\r\n").encode("utf-16"))
    utf8 = tmp_path / "b" / "plan.txt"
    utf8.write_bytes(b"\xef\xbb\xbf" + text.encode())
    first = to_json(draft_files([utf16], _national())).replace(str(utf16), "PLAN")
    second = to_json(draft_files([utf8], _national())).replace(str(utf8), "PLAN")
    assert first == second and '"2024-05-10"' in first


def test_womens_union_plan_header_and_assignments(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "2. Các hoạt động chính\n"
        "- Gặp mặt nữ cán bộ tiêu biểu vào sáng ngày 06/3/2025.\n"
        "- Ra mắt 05 mô hình \"Địa chỉ tin cậy\" trong tháng 3/2025.\n\n"
        "3. Phân công\n- Ban Tuyên giáo Hội LHPN huyện: tham mưu nội dung tuyên truyền.\n"),
        header="HỘI LHPN HUYỆN ĐẠI LỘC\nBAN THƯỜNG VỤ\nSố: 15-KH/HPN\n"
               "Đại Lộc, ngày 10 tháng 02 năm 2025\n\nKẾ HOẠCH\nKỷ niệm Ngày Quốc tế Phụ nữ\n\n")
    assert draft.plans[0].identity.basis() == (
        "Kế hoạch số 15-KH/HPN ngày 10/2/2025 của Ban thường vụ Hội LHPN huyện Đại Lộc")
    assert [e.title for e in draft.events] == ["Gặp mặt nữ cán bộ tiêu biểu",
                                               "Ra mắt 05 mô hình \"Địa chỉ tin cậy\""]
    assert [u.id for u in draft.units] == ["ban-tuyen-giao-hoi-lhpn-huyen"]


def test_national_deadlines_need_their_report_period(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "- Báo cáo năm: Trước ngày 10/12/2024.\n"
        "- Các thôn báo cáo kết quả Tháng hành động năm 2024 trước ngày 10/12/2024.\n"))
    assert [(e.id, e.rule) for e in draft.events] == [
        ("bao-cao-nam", {"date": "12-10"}),
        ("bao-cao-ket-qua-thang-hanh-dong-nam-2024", {"date": "2024-12-10"}),
    ]


# --- Letters, web pages and headings (issue 12) --------------------------------------------

@pytest.mark.parametrize(("body", "kept"), [
    ("Thứ Tư, 12/04/2023 08:30\n\nTổ chức hội nghị ngày 20/5/2024.\n", ["2024-05-20"]),
    ("14:05, Thứ Sáu, 7-7-2023\n\nTổ chức hội nghị ngày 20/5/2024.\n", ["2024-05-20"]),
    ("Cập nhật: 16/04/2024\n\nTổ chức hội nghị ngày 20/5/2024.\n", ["2024-05-20"]),
    ("Khai mạc hội thi vào lúc 8:00 ngày 14/11/2024.\n", ["2024-11-14"]),
    ("Ngày 20/02/2024, Bộ Nội vụ đã có Công văn số 12/BNV-CTTN về việc hướng dẫn.\n", []),
    ("Ngày 05/3/2024, UBND xã đã tổ chức gặp mặt nữ cán bộ.\n", []),
    ("Ngày 05/5/2024, tổ chức gặp mặt nữ cán bộ.\n", ["2024-05-05"]),
])
def test_stamps_and_reports_of_the_past_are_not_items(tmp_path: Path, body: str,
                                                      kept: list[str]) -> None:
    draft = _draft(tmp_path, body)
    assert [e.rule.get("date") for e in draft.events] == kept


@pytest.mark.parametrize(("number", "kind"), [
    ("45/KH-UBND", "Kế hoạch"), ("812/SNV-CTTN", "Công văn"), ("12/TB-UBND", "Thông báo"),
    ("07/HD-SNV", "Hướng dẫn"), ("1790/QĐ-TTg", "Quyết định"), ("12", None),
])
def test_a_numbers_code_names_the_document_type(number: str, kind: str | None) -> None:
    from scheduler.importer.identity import type_of_number

    assert type_of_number(number) == kind


@pytest.mark.parametrize(("name", "issuer", "above"), [
    ("Thường trực Huyện ủy", "Ủy ban nhân dân huyện Ea Súp", True),
    ("HĐND xã", "UBND xã Hòa An", True),
    ("Bộ Nội vụ", "Sở Nội vụ", True),
    ("UBND tỉnh", "UBND huyện Ea Súp", True),
    ("UBND các xã, thị trấn", "UBND huyện Ea Súp", False),
    ("Sở Văn hóa, Thể thao và Du lịch", "Sở Nội vụ", False),
    ("Bộ Chỉ huy Quân sự tỉnh", "Sở Nội vụ", False),
    ("Văn phòng Đoàn ĐBQH và HĐND tỉnh", "Sở Nội vụ", False),
])
def test_superiors_are_not_units(name: str, issuer: str, above: bool) -> None:
    from scheduler.importer.units import superior

    assert superior(name, issuer) is above


@pytest.mark.parametrize(("heading", "expected"), [
    ("BÁO CÁO KẾT QUẢ GỬI BỘ LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI",
     "Báo cáo kết quả gửi Bộ Lao động - Thương binh và Xã hội"),
    ("PHỐI HỢP VỚI SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH TỔ CHỨC HỘI THI",
     "Phối hợp với Sở Văn hóa, Thể thao và Du lịch tổ chức hội thi"),
    ("GỬI UBND HUYỆN TRƯỚC NGÀY", "Gửi UBND huyện trước ngày"),
    ("Tổ chức Hội thi của Hội LHPN", "Tổ chức Hội thi của Hội LHPN"),  # as written
])
def test_all_caps_headings_become_sentence_case(heading: str, expected: str) -> None:
    from scheduler.importer.wording import sentence_case

    assert sentence_case(heading) == expected


def test_titles_are_tasks_not_purposes_or_contacts(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "Để đánh giá kết quả thực hiện, tổ chức sơ kết công tác bình đẳng giới vào ngày "
        "15/7/2024.\n\nTheo đó, huyện sẽ tổ chức tập huấn cho cán bộ cơ sở vào ngày 20/8/2024."
        "\n\nCác xã gửi báo cáo về UBND huyện (qua Phòng Nội vụ, điện thoại: 0262.3852.123, "
        "email: pnv@example.vn) trước ngày 10/12/2024.\n"))
    titles = {e.rule["date"]: e.title for e in draft.events}
    assert titles["2024-07-15"] == "Tổ chức sơ kết công tác bình đẳng giới"
    assert titles["2024-08-20"] == "Tổ chức tập huấn cho cán bộ cơ sở"
    report = next(e for e in draft.events if e.rule["date"] == "2024-12-10")
    assert report.report_to == "phong-noi-vu"
    assert {u.name for u in draft.units} >= {"Phòng Nội vụ"}
    assert not any("0262" in u.name or "@" in u.name for u in draft.units)


def test_year_of_a_news_item_is_never_the_banners(tmp_path: Path) -> None:
    draft = _draft(tmp_path, (
        "NHIỆT LIỆT CHÀO MỪNG ĐẠI HỘI ĐẢNG BỘ NĂM 2019!\n\n"
        "Huyện tổ chức Hội nghị tổng kết công tác gia đình vào ngày 20/12.\n\n"
        "Kế hoạch triển khai trong năm 2025 và năm 2025 tới.\n"), header="")
    assert draft.plans[0].identity.year == 2025
    assert [e.rule.get("date") for e in draft.events] == ["2025-12-20"]

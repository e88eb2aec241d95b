"""The unit search of the index page: officers type without diacritics, in capitals, by
an old name or an abbreviation (issue 11, item 2)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from scheduler.config import load_config
from scheduler.model import Unit
from scheduler.pages.unit_search import search

ROOT = Path(__file__).resolve().parent.parent
UNITS = load_config(ROOT / "config.toml").units


def _found(query: str) -> list[str]:
    return [unit.id for unit in search(query, UNITS)]


@pytest.mark.parametrize("query", ["phu nu", "PHU NU", "Phụ nữ", "PHỤ NỮ", "nu phu", "lhpn",
                                   "hoi lien hiep"])
def test_the_womens_union_is_found_without_diacritics_or_case(query: str) -> None:
    assert _found(query) == ["hoi-lhpn"]


@pytest.mark.parametrize("query", ["ldtbxh", "lđtbxh", "LĐTBXH", "LDTBXH",
                                   "lao dong thuong binh"])
def test_an_old_name_is_found_by_its_abbreviation_with_or_without_d_stroke(query: str) -> None:
    assert _found(query) == ["phong-van-hoa-xa-hoi"]  # alias "Phòng Lao động - Thương binh ..."


def test_d_stroke_folds_to_d_which_decomposition_misses() -> None:
    assert unicodedata.normalize("NFD", "Đ") == "Đ"  # why a plain NFD fold is not enough
    assert _found("doan thanh nien") == ["doan-thanh-nien"]
    assert _found("ĐOÀN") == ["doan-thanh-nien"]


def test_text_in_nfd_matches_text_in_nfc() -> None:
    assert _found(unicodedata.normalize("NFD", "Trạm Y tế")) == ["tram-y-te"]


def test_a_word_matches_only_at_the_start_of_a_word() -> None:
    # "an" starts "An" in "Hòa An" but is inside "văn" and "Công an" does not start "sản".
    assert _found("hoa an") == ["truong-mam-non", "truong-tieu-hoc", "truong-thcs"]
    assert _found("cong an") == ["cong-an-xa"]


def test_nothing_matches_nonsense_and_an_empty_query_matches_every_unit() -> None:
    assert _found("xyz") == []
    assert _found("  ") == [u.id for u in UNITS]
    assert search("x", [Unit(id="a", name="!!!")]) == []
